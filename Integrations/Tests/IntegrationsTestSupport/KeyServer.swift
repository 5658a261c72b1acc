//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import AsyncHTTPClient
public import Foundation
import NIOCore

/// The scriptable HTTPS server of server.py (beside this file), run as a child process: a real TLS server
/// on 127.0.0.1 with a test CA that `openssl` makes at start in a scratch folder (deleted by ``stop()``).
public final class KeyServer: @unchecked Sendable {
    /// What the server answers for one path.
    public struct Answer: Encodable, Sendable {
        public var path: String
        public var status = 200
        public var body: String
        public var headers: [String: String] = [:]
        /// Seconds to wait before answering.
        public var delay: Double = 0
        /// Spaces appended to the body.
        public var pad = 0
        /// No Content-Length: the body ends when the connection closes.
        public var noLength = false

        /// An answer on time, with Content-Length; set ``delay``, ``pad`` or ``noLength`` afterwards.
        public init(_ path: String, status: Int = 200, body: String, headers: [String: String] = [:]) {
            (self.path, self.status, self.body, self.headers) = (path, status, body, headers)
        }

        enum CodingKeys: String, CodingKey {
            case path, status, body, headers, delay, pad
            case noLength = "no_length"
        }
    }

    /// server.py's first line: its two ports and the test CA's certificate.
    struct Ports: Decodable {
        let https, http: Int
        let ca: String
    }

    /// The child and its standard input (closing it stops the server).
    let process: Process, input: Pipe
    /// The scratch folder of the CA and the server's key.
    let folder: URL
    let ports: Ports

    /// `https://127.0.0.1:PORT`.
    public var httpsBase: String { "https://127.0.0.1:\(ports.https)" }
    /// `http://127.0.0.1:PORT`: the same answers in the clear.
    public var httpBase: String { "http://127.0.0.1:\(ports.http)" }
    /// The test CA's certificate (PEM), for ``RemoteKeys/Configuration/extraTrustRootsPEMFile``.
    public var caFile: String { ports.ca }

    /// This file's folder, which holds server.py (inside the package, so that the published package has it too).
    public static let supportFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()

    /// Starts server.py and waits for its first line (the ports), reading it off the concurrency pool's threads.
    public init() async throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("keybound-keyserver-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: false)
        process = Process()
        input = Pipe()
        let output = Pipe()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", Self.supportFolder.appendingPathComponent("server.py").path, "--dir", folder.path]
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        let line = await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                var line = Data()
                while !line.contains(UInt8(ascii: "\n")) {
                    let chunk = output.fileHandleForReading.availableData
                    if chunk.isEmpty { break }
                    line.append(chunk)
                }
                continuation.resume(returning: line)
            }
        }
        guard let ports = try? JSONDecoder().decode(Ports.self, from: line) else {
            process.terminate()
            try? FileManager.default.removeItem(at: folder)
            throw CocoaError(.fileReadCorruptFile, userInfo: [NSDebugDescriptionErrorKey: "server.py did not start"])
        }
        self.ports = ports
    }

    /// Stops the server and deletes its certificates.
    public func stop() {
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()  // the server exits at once when its standard input closes
        try? FileManager.default.removeItem(at: folder)
    }

    /// Sets the answer for a path.
    /// An RFC 8414 / OpenID Connect metadata document at `path` naming `issuer` and this server's `/jwks` (or
    /// `jwksURI`).
    public func metadata(_ path: String, issuer: String, jwksURI: String? = nil) -> Answer {
        let uri = jwksURI ?? httpsBase + "/jwks"
        return Answer(path, body: #"{"issuer":"\#(issuer)","jwks_uri":"\#(uri)","response_types_supported":["code"]}"#)
    }

    public func set(_ answer: Answer) async throws {
        var request = HTTPClientRequest(url: httpBase + "/_control/set")
        request.method = .POST
        request.body = .bytes(ByteBuffer(bytes: try JSONEncoder().encode(answer)))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        _ = try await response.body.collect(upTo: 1 << 16)
    }

    /// How many requests the server had for a path, over both ports.
    public func count(_ path: String) async throws -> Int {
        let request = HTTPClientRequest(url: httpBase + "/_control/count?path=" + path)
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 1 << 16)
        struct Count: Decodable { let count: Int }
        return try JSONDecoder().decode(Count.self, from: Data(body.readableBytesView)).count
    }

    /// Runs `body` with a started server, and stops it afterwards.
    public static func with<T>(_ body: (KeyServer) async throws -> T) async throws -> T {
        let server = try await KeyServer()
        do {
            let result = try await body(server)
            server.stop()
            return result
        } catch {
            server.stop()
            throw error
        }
    }
}
