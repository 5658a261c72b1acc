//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

// The browser demo: a token endpoint, a protected API, "log out this device", the issuer's JWKS and a page
// that keeps a non-extractable WebCrypto key in IndexedDB and signs a DPoP proof for every call.
//
//     swift run --package-path Integrations keybound-demo --port 8080 [--nonces]
//
// Everything is in memory and made at start-up: the issuer key, the one demo user, the orders. Not for production.

import Foundation
import Hummingbird
import Keybound
import KeyboundHummingbird
import KeyboundSigning

let options: DemoOptions
do {
    options = try DemoOptions.parse(Array(CommandLine.arguments.dropFirst()))
} catch {
    FileHandle.standardError.write(Data("keybound-demo: \(error.message)\n\n\(DemoOptions.usage)\n".utf8))
    exit(2)
}
if options.help {
    print(DemoOptions.usage)
    exit(0)
}

do {
    let demo = try Demo(options: options)
    let app = Application(
        router: demo.router(),
        configuration: .init(address: .hostname(options.host, port: options.port), serverName: "keybound-demo"),
        onServerRunning: { _ in
            let line = "keybound-demo: listening on \(options.baseURL) (nonces \(options.nonces ? "on" : "off"))\n"
            FileHandle.standardOutput.write(Data(line.utf8))
        }
    )
    try await app.runService()
} catch {
    FileHandle.standardError.write(Data("keybound-demo: \(error)\n".utf8))
    exit(1)
}
