// swift-tools-version:6.2
//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import PackageDescription

import Foundation

/// Keybound's integrations with server stacks: the Hummingbird authenticator (HummingbirdAuth), the Vapor 4
/// authenticator, the JWKS refresher and the browser demo.
/// A package of its own, beside the root package, so that users of `Keybound` never resolve a web framework.
///
/// Inside the Keybound repository it builds against the root package beside it, by path; published on its own
/// (RELEASING.md: `keybound-integrations`), it depends on a released Keybound by URL.
let inRepository = FileManager.default.fileExists(atPath: Context.packageDirectory + "/../include/keybound.h")
let keyboundPackage: Package.Dependency = inRepository
    ? .package(path: "..")
    : .package(url: "https://github.com/keybound/keybound", from: "0.2.0")
/// SwiftPM names a path dependency after its folder, so the product references below use the repository folder's
/// name, whatever the clone is called.
let core = inRepository
    ? String(Context.packageDirectory.split(separator: "/").dropLast().last ?? "keybound").lowercased()
    : "keybound"

// MARK: - Products of the dependencies

let keybound: Target.Dependency = .product(name: "Keybound", package: core)
let keyboundSigning: Target.Dependency = .product(name: "KeyboundSigning", package: core)
let hummingbird: Target.Dependency = .product(name: "Hummingbird", package: "hummingbird")
let hummingbirdAuth: Target.Dependency = .product(name: "HummingbirdAuth", package: "hummingbird-auth")
let vapor: Target.Dependency = .product(name: "Vapor", package: "vapor")
let logging: Target.Dependency = .product(name: "Logging", package: "swift-log")
let httpTypes: Target.Dependency = .product(name: "HTTPTypes", package: "swift-http-types")
let asyncHTTPClient: Target.Dependency = .product(name: "AsyncHTTPClient", package: "async-http-client")

let package = Package(
    name: "keybound-integrations",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "KeyboundHummingbird", targets: ["KeyboundHummingbird"]),
        .library(name: "KeyboundVapor", targets: ["KeyboundVapor"]),
        .executable(name: "keybound-demo", targets: ["keybound-demo"]),
    ],
    dependencies: [
        keyboundPackage,
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth", from: "2.5.0"),
        .package(url: "https://github.com/vapor/vapor", from: "4.122.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
    ],
    targets: [
        // MARK: - Shared by the framework integrations

        // The request URL for the htu check and the refusal's status, headers and body, with no web framework.
        .target(name: "KeyboundServerSupport", dependencies: [keybound, logging]),

        // MARK: - Hummingbird

        // The authenticator, scope checks and the JWKS refresher.
        .target(
            name: "KeyboundHummingbird",
            dependencies: [
                "KeyboundServerSupport", keybound, hummingbird, hummingbirdAuth, httpTypes, asyncHTTPClient, logging,
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),

        // MARK: - Vapor

        // The authenticator middleware for Vapor 4.
        .target(name: "KeyboundVapor", dependencies: ["KeyboundServerSupport", keybound, vapor, logging]),

        // The demo: token endpoint, protected API, JWKS and the WebCrypto page (swift run keybound-demo).
        .executableTarget(
            name: "keybound-demo",
            dependencies: ["KeyboundHummingbird", keybound, keyboundSigning, hummingbird, hummingbirdAuth, httpTypes],
            resources: [.copy("Public")]
        ),

        // MARK: - Tests

        // Keys, tokens and proofs at a fixed time, shared by the integrations' tests.
        .target(
            name: "IntegrationFixtures", dependencies: [keybound, keyboundSigning, logging],
            path: "Tests/IntegrationFixtures"),
        .testTarget(
            name: "KeyboundHummingbirdTests",
            dependencies: [
                "KeyboundHummingbird", "IntegrationFixtures", keybound, keyboundSigning, hummingbird,
                hummingbirdAuth, httpTypes, asyncHTTPClient, logging,
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HummingbirdBasicAuth", package: "hummingbird-auth"),
            ]
        ),
        .testTarget(
            name: "KeyboundVaporTests",
            dependencies: [
                "KeyboundVapor", "IntegrationFixtures", keybound, keyboundSigning, vapor, logging,
                .product(name: "VaporTesting", package: "vapor"),
            ]
        ),
    ]
)
