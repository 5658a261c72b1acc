//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

#if Redis
import CHiredis
#if canImport(Glibc)
import Glibc
#endif

/// A reply from Redis (RESP2), copied out of hiredis' reply object.
enum RedisReply: Equatable {
    case status(String)
    case error(String)
    case integer(Int64)
    case string([UInt8])
    case null
    case array([RedisReply])

    /// The text of a bulk string or status reply.
    var text: String? {
        switch self {
        case .string(let bytes): return String(decoding: bytes, as: UTF8.self)
        case .status(let text): return text
        default: return nil
        }
    }
}

/// Why a connection failed: `timedOut` when the socket timeout fired (the command may have run).
struct RedisFailure: Error {
    let message: String
    let timedOut: Bool
}

/// One blocking hiredis connection (a `redisContext`), with connect and command timeouts. Not thread-safe: the pool
/// lends it to one thread at a time. hiredis 0.14 has no `redisConnectWithOptions`, so the timeouts are
/// `redisConnectWithTimeout` / `redisConnectUnixWithTimeout` and `redisSetTimeout` (SO_RCVTIMEO, SO_SNDTIMEO).
final class RedisConnection {
    private let context: UnsafeMutablePointer<redisContext>

    private init(context: UnsafeMutablePointer<redisContext>) {
        self.context = context
    }

    deinit { redisFree(context) }

    /// Connects, sets the command timeout, then authenticates and selects the database when configured.
    static func open(_ configuration: RedisConfiguration) -> Result<RedisConnection, RedisFailure> {
        ignoreSIGPIPE()
        let connectTimeout = timeval(milliseconds: configuration.connectTimeoutMilliseconds)
        let raw: UnsafeMutablePointer<redisContext>?
        switch configuration.address {
        case .tcp(let host, let port): raw = redisConnectWithTimeout(host, Int32(port), connectTimeout)
        case .unix(let path): raw = redisConnectUnixWithTimeout(path, connectTimeout)
        }
        guard let raw else { return .failure(RedisFailure(message: "cannot allocate a context", timedOut: false)) }
        let connection = RedisConnection(context: raw)
        if raw.pointee.err != 0 { return .failure(connection.failure()) }
        guard redisSetTimeout(raw, timeval(milliseconds: configuration.commandTimeoutMilliseconds)) == REDIS_OK else {
            return .failure(connection.failure())
        }
        if let password = configuration.password {
            var command: [[UInt8]] = [Array("AUTH".utf8)]
            if let user = configuration.username { command.append(Array(user.utf8)) }
            command.append(Array(password.utf8))
            switch connection.command(command) {
            case .success(.status): break
            case .success(let other): return .failure(RedisFailure(message: "AUTH: \(other)", timedOut: false))
            case .failure(let failure): return .failure(failure)
            }
        }
        if configuration.database != 0 {
            switch connection.command([Array("SELECT".utf8), Array(String(configuration.database).utf8)]) {
            case .success(.status): break
            case .success(let other): return .failure(RedisFailure(message: "SELECT: \(other)", timedOut: false))
            case .failure(let failure): return .failure(failure)
            }
        }
        return .success(connection)
    }

    /// Sends one command (binary-safe arguments) and reads its reply. After a failure the connection is unusable.
    func command(_ arguments: [[UInt8]]) -> Result<RedisReply, RedisFailure> {
        var flat = [UInt8]()
        var offsets = [Int]()
        var lengths = [Int]()
        offsets.reserveCapacity(arguments.count)
        lengths.reserveCapacity(arguments.count)
        for argument in arguments {
            offsets.append(flat.count)
            lengths.append(argument.count)
            flat.append(contentsOf: argument)
        }
        flat.append(0)
        let reply: UnsafeMutableRawPointer? = flat.withUnsafeBufferPointer { buffer in
            let base = UnsafeRawPointer(buffer.baseAddress!).assumingMemoryBound(to: CChar.self)
            var pointers: [UnsafePointer<CChar>?] = offsets.map { base + $0 }
            return pointers.withUnsafeMutableBufferPointer { argv in
                lengths.withUnsafeBufferPointer { argvlen in
                    redisCommandArgv(context, Int32(arguments.count), argv.baseAddress, argvlen.baseAddress)
                }
            }
        }
        guard let reply else { return .failure(failure()) }
        defer { freeReplyObject(reply) }
        return .success(Self.copy(reply.assumingMemoryBound(to: redisReply.self)))
    }

    private static func copy(_ reply: UnsafeMutablePointer<redisReply>) -> RedisReply {
        let value = reply.pointee
        func bytes() -> [UInt8] {
            guard let str = value.str else { return [] }
            return Array(UnsafeRawBufferPointer(start: str, count: value.len))
        }
        switch value.type {
        case REDIS_REPLY_STATUS: return .status(String(decoding: bytes(), as: UTF8.self))
        case REDIS_REPLY_ERROR: return .error(String(decoding: bytes(), as: UTF8.self))
        case REDIS_REPLY_INTEGER: return .integer(Int64(value.integer))
        case REDIS_REPLY_STRING: return .string(bytes())
        case REDIS_REPLY_ARRAY:
            var elements: [RedisReply] = []
            if let element = value.element {
                for index in 0..<value.elements {
                    if let child = element[index] { elements.append(copy(child)) } else { elements.append(.null) }
                }
            }
            return .array(elements)
        default: return .null
        }
    }

    /// The context's error: its message, and whether it was the socket timeout (EAGAIN on a blocking socket).
    private func failure() -> RedisFailure {
        let message = withUnsafeBytes(of: context.pointee.errstr) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        let timedOut = context.pointee.err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK
            || message.contains("temporarily unavailable") || message.contains("timed out"))
        return RedisFailure(message: message.isEmpty ? "error \(context.pointee.err)" : message, timedOut: timedOut)
    }

    /// hiredis 0.14 writes with write(2): a peer that closed the socket would raise SIGPIPE and kill the process.
    /// Ignores SIGPIPE once, unless the host installed its own handler.
    private static let sigpipeIgnored: Bool = {
        var current = sigaction()
        sigaction(SIGPIPE, nil, &current)
        if current.__sigaction_handler.sa_handler == nil {  // SIG_DFL
            signal(SIGPIPE, SIG_IGN)
        }
        return true
    }()

    static func ignoreSIGPIPE() { _ = sigpipeIgnored }
}

extension timeval {
    init(milliseconds: Int) {
        self.init(tv_sec: milliseconds / 1000, tv_usec: (milliseconds % 1000) * 1000)
    }
}
#endif
