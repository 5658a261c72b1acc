// swift-tools-version:6.2
//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import PackageDescription

import Foundation

/// Keybound's integrations with server stacks: remote key sets (discovery and JWKS fetching over AsyncHTTPClient, for
/// any Swift service), the Hummingbird (HummingbirdAuth) and Vapor 4 authenticators, the JWKS refresher service and
/// the browser demo.
/// A package of its own, beside the root package, so that users of `Keybound` never resolve a web framework.
///
/// Inside the Keybound repository it builds against the root package beside it, by path; published on its own
/// (RELEASING.md: `keybound-integrations`), it depends on a released Keybound by URL.
let inRepository = FileManager.default.fileExists(atPath: Context.packageDirectory + "/../include/keybound.h")
/// The root package's `Redis` trait (the shared replay store, hiredis) is on only when this package's own `Redis` trait
/// is: keybound-serve's `store = "redis"` needs it, nothing else here does.
let keyboundTraits: Set<Package.Dependency.Trait> = [.defaults, .init(name: "Redis", condition: .when(traits: ["Redis"]))]
let keyboundPackage: Package.Dependency = inRepository
    ? .package(path: "..", traits: keyboundTraits)
    : .package(url: "https://github.com/keybound/keybound", from: "1.0.0", traits: keyboundTraits)
/// SwiftPM names a path dependency after its folder, so the product references below use the repository folder's
/// name, whatever the clone is called.
let core = inRepository
    ? String(Context.packageDirectory.split(separator: "/").dropLast().last ?? "keybound").lowercased()
    : "keybound"

// MARK: - Products of the dependencies

let keybound: Target.Dependency = .product(name: "Keybound", package: core)
let keyboundSigning: Target.Dependency = .product(name: "KeyboundSigning", package: core)
let keyboundRedis: Target.Dependency = .product(name: "KeyboundRedis", package: core)
let hummingbird: Target.Dependency = .product(name: "Hummingbird", package: "hummingbird")
let httpTypes: Target.Dependency = .product(name: "HTTPTypes", package: "swift-http-types")
let asyncHTTPClient: Target.Dependency = .product(name: "AsyncHTTPClient", package: "async-http-client")
let nioSSL: Target.Dependency = .product(name: "NIOSSL", package: "swift-nio-ssl")
let hummingbirdAuth: Target.Dependency = .product(name: "HummingbirdAuth", package: "hummingbird-auth")
let vapor: Target.Dependency = .product(name: "Vapor", package: "vapor")
let logging: Target.Dependency = .product(name: "Logging", package: "swift-log")
let nioCore: Target.Dependency = .product(name: "NIOCore", package: "swift-nio")
let tomlKit: Target.Dependency = .product(name: "TOMLKit", package: "TOMLKit")

let package = Package(
    name: "keybound-integrations",
    platforms: [.macOS(.v15)],
    products: [
        // Remote key sets for any Swift service: no web framework (docs/remote-keys.md).
        .library(name: "KeyboundRemoteKeys", targets: ["KeyboundRemoteKeys"]),
        .library(name: "KeyboundHummingbird", targets: ["KeyboundHummingbird"]),
        .library(name: "KeyboundVapor", targets: ["KeyboundVapor"]),
        .executable(name: "keybound-demo", targets: ["keybound-demo"]),
        // `keybound-remote jwks --issuer-url URL | --jwks-url URL`: prints an issuer's JWK Set; the helper that
        // `keybound verify --issuer-url` and `--jwks-url` run (docs/remote-keys.md).
        .executable(name: "keybound-remote", targets: ["keybound-remote"]),
        // `keybound-serve CONFIG`: the forward-auth service for nginx `auth_request` and Traefik ForwardAuth
        // (docs/sidecar.md).
        .library(name: "KeyboundServe", targets: ["KeyboundServe"]),
        .executable(name: "keybound-serve", targets: ["keybound-serve"]),
    ],
    // `swift build --package-path Integrations --traits Redis`: keybound-serve with the Redis replay store (needs
    // libhiredis-dev); off by default, so nothing else in this package links hiredis.
    traits: [.trait(name: "Redis", description: "keybound-serve's Redis replay store (the root package's Redis trait).")],
    dependencies: [
        keyboundPackage,
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth", from: "2.5.0"),
        .package(url: "https://github.com/vapor/vapor", from: "4.122.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        // keybound-serve's server: the quiescing helper (graceful stop) and HTTP/1 ↔ HTTPTypes header conversion.
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        // keybound-serve's configuration file.
        .package(url: "https://github.com/LebJe/TOMLKit", exact: "0.6.0"),
        // keybound-serve's /metrics (Prometheus text format).
        .package(url: "https://github.com/swift-server/swift-prometheus", exact: "2.4.1"),
    ],
    targets: [
        // MARK: - Remote keys

        // Discovery (OpenID Connect, RFC 8414) and JWK Set fetching with caching, key-miss refetch and bounds; no
        // web framework. On AsyncHTTPClient: FoundationNetworking on Linux cannot add a trust root (docs/remote-keys.md).
        .target(
            name: "KeyboundRemoteKeys",
            dependencies: [
                keybound, asyncHTTPClient, nioSSL,
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        // `keybound-remote`: fetches an issuer's keys and prints them, for `keybound verify --issuer-url`.
        .executableTarget(name: "keybound-remote", dependencies: ["KeyboundRemoteKeys", keybound]),

        // MARK: - Shared by the framework integrations

        // The request URL for the htu check, the verification and the refusal's status, headers, body and log line,
        // with no web framework.
        .target(name: "KeyboundServerSupport", dependencies: [keybound, logging]),

        // MARK: - Hummingbird

        // The HummingbirdAuth authenticator, the middleware, scope checks and the JWKS refresher service.
        .target(
            name: "KeyboundHummingbird",
            dependencies: [
                keybound, "KeyboundServerSupport", "KeyboundRemoteKeys", hummingbird, hummingbirdAuth, httpTypes,
                logging,
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        // MARK: - Vapor

        // The authenticator middleware for Vapor 4.
        .target(name: "KeyboundVapor", dependencies: ["KeyboundServerSupport", keybound, vapor, logging]),

        // The demo: token endpoint, protected API, JWKS and the WebCrypto page (swift run keybound-demo).
        .executableTarget(
            name: "keybound-demo",
            dependencies: [
                "KeyboundHummingbird", keybound, keyboundSigning, hummingbird, hummingbirdAuth, httpTypes,
            ],
            resources: [.copy("Public")]
        ),

        // MARK: - Forward-auth service

        // Configuration (TOML), the proxies' request URL rules, the answer to an auth sub-request, the server (one
        // SwiftNIO HTTP/1.1 pipeline; docs/sidecar.md "The HTTP server").
        .target(
            name: "KeyboundServe",
            dependencies: [
                keybound, keyboundRedis, "KeyboundServerSupport", "KeyboundRemoteKeys", httpTypes, tomlKit,
                nioCore, logging, .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOPosix", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
            ]
        ),
        .executableTarget(
            name: "keybound-serve",
            dependencies: ["KeyboundServe", logging, nioCore, .product(name: "NIOPosix", package: "swift-nio")]
        ),

        // MARK: - Tests

        // What the test targets share: keys, tokens and proofs, a manual clock, the HTTPS key server, a log recorder.
        .target(
            name: "IntegrationsTestSupport",
            dependencies: [
                keybound, keyboundSigning, asyncHTTPClient, logging, .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Tests/IntegrationsTestSupport",
            exclude: ["server.py"]
        ),
        .testTarget(
            name: "KeyboundHummingbirdTests",
            dependencies: [
                "KeyboundHummingbird", "IntegrationsTestSupport", keybound, keyboundSigning, hummingbird, httpTypes,
                asyncHTTPClient, hummingbirdAuth, logging,
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HummingbirdBasicAuth", package: "hummingbird-auth"),
                .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(
            name: "KeyboundServeTests",
            dependencies: [
                "KeyboundServe", "IntegrationsTestSupport", keybound, keyboundRedis, httpTypes, logging,
                asyncHTTPClient,
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
            ]
        ),
        // Against a real HTTPS server on loopback (IntegrationsTestSupport/server.py, with a CA made at run time).
        .testTarget(
            name: "KeyboundRemoteKeysTests",
            dependencies: ["KeyboundRemoteKeys", "keybound-remote", "IntegrationsTestSupport", keybound, keyboundSigning]
        ),
        // A real Vapor application on loopback for each request (VaporTesting's `.running` tester).
        .testTarget(
            name: "KeyboundVaporTests",
            dependencies: [
                "KeyboundVapor", "IntegrationsTestSupport", keybound, keyboundSigning, vapor, logging,
                .product(name: "VaporTesting", package: "vapor"),
            ]
        ),
    ]
)
