//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Foundation

/// The vendored test vectors under `Tests/Vectors/`: Wycheproof's files (`wycheproof/`, with their licence and
/// upstream commit in its README) and the example strings of RFC 9449 and RFC 7638 (`rfc-examples.md`).
///
/// A missing file is an error that fails the test reading it, never a skip.
public enum TestVectors {
    /// The repository's root folder, found from this file's path.
    public static let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // KeyboundTestSupport
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()  // repository root

    /// `Tests/Vectors`.
    public static let directory: URL = repositoryRoot.appendingPathComponent("Tests/Vectors")

    /// `Tests/Vectors/wycheproof`.
    public static let wycheproofDirectory: URL = directory.appendingPathComponent("wycheproof")

    /// `Tests/Vectors/rfc-examples.md`.
    public static let rfcExamples: URL = directory.appendingPathComponent("rfc-examples.md")

    /// The contents of one Wycheproof file, e.g. `ecdsa_secp256r1_sha256_p1363_test.json`.
    public static func wycheproof(_ name: String) throws -> Data {
        try read(wycheproofDirectory.appendingPathComponent(name))
    }

    /// The text of `rfc-examples.md`.
    public static func rfcExamplesText() throws -> String {
        String(decoding: try read(rfcExamples), as: UTF8.self)
    }

    /// Reads `url`, or throws ``Missing`` naming it.
    public static func read(_ url: URL) throws -> Data {
        guard FileManager.default.fileExists(atPath: url.path) else { throw Missing(path: url.path) }
        return try Data(contentsOf: url)
    }

    /// A vendored vector file that is not where it should be.
    public struct Missing: Error, CustomStringConvertible {
        public let path: String
        public var description: String { "test vector file missing: \(path) (vendored under Tests/Vectors)" }
    }
}
