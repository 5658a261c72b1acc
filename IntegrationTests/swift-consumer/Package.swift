// swift-tools-version:6.2
//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import PackageDescription

// A service that embeds Keybound as users do: by package (here by path), default traits, the `Keybound` product
// only. scripts/ci/consumers.sh checks what SwiftPM resolves for it (nothing it does not build but
// swift-argument-parser, which the root package's `keybound` tool needs), builds it and runs it.
let package = Package(
    name: "swift-consumer",
    dependencies: [.package(name: "keybound", path: "../..")],
    targets: [
        .executableTarget(name: "Consumer", dependencies: [.product(name: "Keybound", package: "keybound")])
    ]
)
