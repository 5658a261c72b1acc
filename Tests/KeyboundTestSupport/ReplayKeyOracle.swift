//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Foundation

/// A failure of the `openssl` command line the oracle below runs.
public struct OpenSSLCommandFailed: Error, CustomStringConvertible {
    public let description: String
}

/// SHA-256 of `bytes` by the `openssl` command line (`openssl dgst -sha256 -binary`), independent of Keybound's own
/// digest code.
public func opensslSHA256(_ bytes: [UInt8]) throws -> [UInt8] {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
    process.arguments = ["dgst", "-sha256", "-binary"]
    let input = Pipe()
    let output = Pipe()
    process.standardInput = input
    process.standardOutput = output
    try process.run()
    input.fileHandleForWriting.write(Data(bytes))
    try input.fileHandleForWriting.close()
    let digest = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0, digest.count == 32 else {
        throw OpenSSLCommandFailed(description: "openssl dgst -sha256 exited with \(process.terminationStatus)")
    }
    return Array(digest)
}

/// The bytes of the fleet-wide replay key of docs/design.md "Contracts → Replay store", computed independently:
/// SHA-256(u16be(len jkt) ‖ jkt ‖ u16be(len jti) ‖ jti), by the `openssl` command line.
public func independentReplayKeyBytes(jkt: String, jti: String) throws -> [UInt8] {
    var material: [UInt8] = []
    for part in [Array(jkt.utf8), Array(jti.utf8)] {
        material += [UInt8(part.count >> 8), UInt8(part.count & 0xFF)] + part
    }
    return try opensslSHA256(material)
}
