// swift-tools-version:6.2
//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

// libFuzzer targets for Keybound's entry points. A separate package, so that fuzzing flags never touch the main
// build. Build and run with scripts/fuzz.sh (it passes -sanitize=fuzzer,address).

import PackageDescription

func fuzzTarget(_ name: String, _ dependencies: [Target.Dependency] = []) -> Target {
    .executableTarget(
        name: "fuzz-\(name)",
        dependencies: ["FuzzSupport", .product(name: "Keybound", package: "keybound")] + dependencies,
        path: "Targets/\(name)"
    )
}

let package = Package(
    name: "keybound-fuzz",
    dependencies: [.package(name: "keybound", path: "..")],
    targets: [
        .target(name: "FuzzSupport"),
        fuzzTarget("base64url"),
        fuzzTarget("json"),
        fuzzTarget("compact-jws"),
        fuzzTarget("jwks"),
        fuzzTarget("jwk"),
        fuzzTarget("pem"),
        fuzzTarget("verify"),
        // The CLI's batch reader: the KeyboundBatch library `keybound verify --batch` uses.
        fuzzTarget("batch-line", [.product(name: "KeyboundBatch", package: "keybound")]),
    ]
)
