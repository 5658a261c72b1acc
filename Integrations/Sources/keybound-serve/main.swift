//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

// keybound-serve CONFIG          serve auth sub-requests (SIGHUP reloads CONFIG)
// keybound-serve --check CONFIG  validate CONFIG and exit (0: valid; 2: the first problem on standard error)

import Dispatch
import Foundation
import Hummingbird
import KeyboundServe
import Logging
import NIOCore
import NIOPosix

// Swift concurrency runs on NIO's event loops, where Hummingbird reads and writes: a request's handler (and the
// verification in it) no longer hops to the concurrency pool's threads and back (docs/sidecar.md, "Load and soak").
// Called first, from the main thread, before any task exists.
NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()

func usage() -> Never {
    FileHandle.standardError.write(Data("usage: keybound-serve [--check] CONFIG\n".utf8))
    exit(2)
}

var arguments = Array(CommandLine.arguments.dropFirst())
let checkOnly = arguments.first == "--check"
if checkOnly { arguments.removeFirst() }
guard arguments.count == 1, let path = arguments.first, !path.hasPrefix("-") else { usage() }

let configuration: ServeConfiguration
do {
    configuration = try ServeConfiguration.load(path: path)
} catch {
    FileHandle.standardError.write(Data("keybound-serve: \(path): \(error)\n".utf8))
    exit(2)
}
if checkOnly {
    print("keybound-serve: \(path): OK (\(configuration.issuers.count) issuers, \(configuration.routes.count) routes, "
        + "\(configuration.proxies.count) proxies)")
    exit(0)
}

var logger = Logger(label: "keybound-serve")
logger.logLevel = .info
let runtime = ServeRuntime(replayCapacity: configuration.replayCapacity, logger: logger)
do {
    try await runtime.install(configuration)
} catch {
    FileHandle.standardError.write(Data("keybound-serve: cannot start: \(error)\n".utf8))
    exit(1)
}

// SIGHUP: read the file again; the replay cache and requests in flight are kept.
let hangup = runtime.reloadOnHangup(path: path)

let app = Application(
    router: runtime.router(),
    configuration: .init(address: .hostname(configuration.listenHost, port: configuration.listenPort),
                         serverName: nil),
    logger: logger)
do {
    try await app.runService()
} catch {
    FileHandle.standardError.write(Data("keybound-serve: \(error)\n".utf8))
    runtime.stop()
    exit(1)
}
hangup.cancel()
runtime.stop()
