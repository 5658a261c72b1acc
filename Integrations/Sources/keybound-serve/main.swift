//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

// keybound-serve CONFIG          serve auth sub-requests (SIGHUP reloads CONFIG; SIGTERM or SIGINT stops gracefully)
// keybound-serve --check CONFIG  validate CONFIG and exit (0: valid; 2: the first problem on standard error)

import Dispatch
import Foundation
import KeyboundServe
import Logging
import NIOCore
import NIOPosix

// Swift concurrency runs on NIO's event loops: the tasks keybound-serve starts (a Redis-backed verification,
// `/readyz`, reloads) run on the threads that serve the connections. Called first, from the main thread, before
// any task exists.
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
    let store = configuration.redis.map { "redis \($0.redactedURL)" } ?? "memory"
    print("keybound-serve: \(path): OK (\(configuration.issuers.count) issuers, \(configuration.routes.count) routes, "
        + "\(configuration.proxies.count) proxies, replay store \(store))")
    exit(0)
}

/// Everything after the configuration is read: runs until SIGTERM or SIGINT has stopped the server, then returns the
/// exit status. Not on the main actor: the main thread only waits for it (below).
func serve(configuration: ServeConfiguration, path: String) async -> Int32 {
    // The log format and level are those of the start (a reload does not change them).
    let format = configuration.logFormat
    LoggingSystem.bootstrap { label in
        switch format {
        case .json: JSONLogHandler(label: label)
        case .text: StreamLogHandler.standardError(label: label)
        }
    }
    var logger = Logger(label: "keybound-serve")
    logger.logLevel = configuration.logLevel
    let runtime: ServeRuntime
    do {
        runtime = try ServeRuntime(for: configuration, logger: logger)
        try await runtime.install(configuration)
    } catch {
        FileHandle.standardError.write(Data("keybound-serve: cannot start: \(error)\n".utf8))
        return 1
    }

    // SIGHUP: read the file again; the replay store and requests in flight are kept.
    let hangup = runtime.reloadOnHangup(path: path)

    /// SIGTERM and SIGINT (their default action turned off), as a stream; keep the sources alive. The handler runs
    /// on a dispatch queue: nonisolated, not on the main actor.
    func stopSignals() -> (AsyncStream<Void>, [any DispatchSourceSignal]) {
        let (stream, continuation) = AsyncStream<Void>.makeStream()
        let sources = [SIGTERM, SIGINT].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { @Sendable in continuation.yield() }
            source.resume()
            return source
        }
        return (stream, sources)
    }

    // SIGTERM and SIGINT: stop accepting, let the requests in flight be answered, close the connections, exit 0.
    let (stops, stopSources) = stopSignals()

    let server: ServeServer
    do {
        server = try await ServeServer.start(
            runtime: runtime, host: configuration.listenHost, port: configuration.listenPort)
    } catch {
        FileHandle.standardError.write(Data("keybound-serve: cannot listen: \(error)\n".utf8))
        runtime.stop()
        return 1
    }
    logger.info(
        "starting",
        metadata: [
            "listen": "\(configuration.listenHost):\(configuration.listenPort)",
            "replay_store": "\(configuration.redis.map { $0.redactedURL } ?? "memory")",
        ])

    for await _ in stops { break }
    stopSources.forEach { $0.cancel() }
    logger.info("stopping")
    do {
        try await server.shutdown()
    } catch {
        FileHandle.standardError.write(Data("keybound-serve: \(error)\n".utf8))
        hangup.cancel()
        runtime.stop()
        return 1
    }
    hangup.cancel()
    runtime.stop()
    logger.info("stopped")
    return 0
}

// The main thread waits while the service runs on NIO's event loops; the task ends the process. A top-level `await`
// would park the main thread in `dispatch_main()` instead, which ends it with `pthread_exit`: valgrind 3.19 (the
// instruction measure, scripts/bench/serve-callgrind.sh) cannot run such a process.
Task.detached { [configuration, path] in
    exit(await serve(configuration: configuration, path: path))
}
DispatchSemaphore(value: 0).wait()
