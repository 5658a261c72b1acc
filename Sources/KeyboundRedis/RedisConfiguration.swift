//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

public import Keybound

/// Where and how to reach the Redis server shared by a fleet of verifiers (docs/design.md "Beyond one machine").
///
/// Parsing is always compiled; connecting needs the package built with the `Redis` trait.
public struct RedisConfiguration: Sendable, Hashable {
    /// A TCP host and port, or a Unix-domain socket path.
    public enum Address: Sendable, Hashable {
        case tcp(host: String, port: Int)
        case unix(path: String)
    }

    /// The server.
    public var address: Address
    /// The ACL user name (Redis 6+); `nil` sends `AUTH password` alone.
    public var username: String? = nil
    /// The password sent with `AUTH` on every new connection; `nil` sends none.
    public var password: String? = nil
    /// The database selected on every new connection (default 0).
    public var database: Int = 0
    /// How long a connection attempt may take (default 250 ms).
    public var connectTimeoutMilliseconds: Int = 250
    /// How long one command may take, send to reply (default 100 ms); past it the request fails closed.
    public var commandTimeoutMilliseconds: Int = 100
    /// Connections kept open: size it to the threads that verify at once (default 8).
    public var poolSize: Int = 8
    /// The prefix of every replay key: `<prefix><base64url of the 32-byte replay key>` (docs/design.md "Contracts").
    public var keyPrefix: String = "keybound:replay:"
    /// The first and the largest wait between reconnection attempts of one pooled connection (doubling).
    public var reconnectBackoffMilliseconds: ClosedRange<Int> = 50...2_000
    /// The acceptance window `maxAge + skew` of the verifiers, in seconds (default 65 = 60 + 5): a proof whose `iat`
    /// (`expiresAt − window`) precedes the moment the Redis data set began is refused (see ``RedisReplayStore``).
    public var acceptanceWindowSeconds: Int64 = 65
    /// The most live entries one proof key (`jkt`) may hold in the shared store, counted fleet-wide: past it its
    /// proofs are refused with `replay_quota_exceeded` (212) while other keys are unaffected (docs/design.md
    /// "Per-key replay share"). 0, the default, turns the share off: the insert is then the plain `SET NX`.
    public var keyShare: Int = 0
    /// Shares for particular proof keys, by `jkt`, in place of ``keyShare`` (0: unlimited for that key).
    public var keyShareOverrides: [String: Int] = [:]

    public init(address: Address) {
        self.address = address
    }

    /// Reads `redis://[[user]:password@]host[:port][/db][?query]` (IPv6 hosts in brackets, default port 6379) or
    /// `unix://PATH[?query]` (percent-escapes decoded in user, password, path and query values). The query's items:
    /// `db=N`, `password=P`, `user=U` and `key_share=N` (``keyShare``, the fleet-wide per-key share; 0 is off).
    ///
    /// - Throws: `KeyboundError(.invalidConfiguration)` naming what is wrong.
    public init(url whole: String) throws(KeyboundError) {
        func fail(_ why: String) -> KeyboundError { KeyboundError(.invalidConfiguration, reason: "replay store URL: \(why)") }
        let split = whole.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let url = String(split[0])
        if url.hasPrefix("unix://") {
            guard let path = Self.percentDecoded(String(url.dropFirst("unix://".count))), path.hasPrefix("/") else {
                throw fail("a unix:// URL needs an absolute socket path")
            }
            self.init(address: .unix(path: path))
        } else {
            try self.init(tcpURL: url)
        }
        guard split.count == 2 else { return }
        for pair in split[1].split(separator: "&") {
            let item = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard item.count == 2, let value = Self.percentDecoded(String(item[1])) else {
                throw fail("bad query item \(pair)")
            }
            switch item[0] {
            case "db":
                guard let db = Int(value), db >= 0 else { throw fail("db must be a number") }
                database = db
            case "password": password = value
            case "user": username = value
            case "key_share":
                guard let share = Int(value), share >= 0 else { throw fail("key_share must be a number >= 0") }
                keyShare = share
            default: throw fail("unknown query item \(item[0])")
            }
        }
    }

    /// Reads `redis://[[user]:password@]host[:port][/db]`, without a query.
    private init(tcpURL url: String) throws(KeyboundError) {
        func fail(_ why: String) -> KeyboundError { KeyboundError(.invalidConfiguration, reason: "replay store URL: \(why)") }
        guard url.hasPrefix("redis://") else { throw fail("use redis://HOST:PORT/DB or unix://PATH") }
        var rest = Substring(url.dropFirst("redis://".count))
        var user: String? = nil
        var secret: String? = nil
        if let at = rest.lastIndex(of: "@") {
            let info = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = info.firstIndex(of: ":") {
                guard let u = Self.percentDecoded(String(info[..<colon])),
                    let p = Self.percentDecoded(String(info[info.index(after: colon)...]))
                else { throw fail("bad percent-escape in the credentials") }
                user = u.isEmpty ? nil : u
                secret = p
            } else {
                guard let p = Self.percentDecoded(String(info)) else { throw fail("bad percent-escape") }
                secret = p
            }
        }
        var database = 0
        if let slash = rest.firstIndex(of: "/") {
            let db = rest[rest.index(after: slash)...]
            if !db.isEmpty {
                guard let number = Int(db), number >= 0 else { throw fail("the database must be a number") }
                database = number
            }
            rest = rest[..<slash]
        }
        var host: Substring
        var port = 6379
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw fail("unclosed IPv6 bracket") }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let tail = rest[rest.index(after: close)...]
            if !tail.isEmpty {
                guard tail.hasPrefix(":"), let number = Int(tail.dropFirst()) else { throw fail("bad port") }
                port = number
            }
        } else if let colon = rest.lastIndex(of: ":") {
            host = rest[..<colon]
            guard let number = Int(rest[rest.index(after: colon)...]) else { throw fail("bad port") }
            port = number
        } else {
            host = rest
        }
        guard !host.isEmpty else { throw fail("no host") }
        guard (1...65_535).contains(port) else { throw fail("the port must be 1...65535") }
        self.init(address: .tcp(host: String(host), port: port))
        self.username = user
        self.password = secret
        self.database = database
    }

    /// Checks every value; throws `KeyboundError(.invalidConfiguration)` naming the first bad one.
    public func validate() throws(KeyboundError) {
        func fail(_ why: String) -> KeyboundError { KeyboundError(.invalidConfiguration, reason: why) }
        guard (1...60_000).contains(connectTimeoutMilliseconds) else { throw fail("connect timeout must be 1...60000 ms") }
        guard (1...60_000).contains(commandTimeoutMilliseconds) else { throw fail("command timeout must be 1...60000 ms") }
        guard (1...1_024).contains(poolSize) else { throw fail("poolSize must be 1...1024") }
        guard (0...1_000_000).contains(database) else { throw fail("database must be 0...1000000") }
        guard !keyPrefix.isEmpty, keyPrefix.utf8.count <= 256 else { throw fail("keyPrefix must be 1...256 bytes") }
        guard reconnectBackoffMilliseconds.lowerBound >= 1, reconnectBackoffMilliseconds.upperBound <= 600_000 else {
            throw fail("reconnect backoff must lie within 1...600000 ms")
        }
        guard (0...(86_400 + 3_600)).contains(acceptanceWindowSeconds) else {
            throw fail("acceptanceWindowSeconds must be 0...90000")
        }
        if case .unix(let path) = address, path.utf8.count >= 108 { throw fail("the socket path is too long") }
        guard keyShare >= 0 else { throw fail("keyShare must not be negative") }
        for (jkt, share) in keyShareOverrides {
            guard !jkt.isEmpty, share >= 0 else { throw fail("keyShareOverrides needs non-empty jkts and shares >= 0") }
        }
    }

    /// The address without credentials, for messages: `redis://host:port/db` or `unix://path`.
    public var redactedURL: String {
        switch address {
        case .tcp(let host, let port):
            let shown = host.contains(":") ? "[\(host)]" : host
            return "redis://\(shown):\(port)/\(database)"
        case .unix(let path): return "unix://\(path)"
        }
    }

    /// `text` with `%XX` escapes decoded, or `nil` for a bad escape or invalid UTF-8.
    static func percentDecoded(_ text: String) -> String? {
        var out = [UInt8]()
        var bytes = text.utf8.makeIterator()
        while let byte = bytes.next() {
            if byte != UInt8(ascii: "%") {
                out.append(byte)
                continue
            }
            guard let high = bytes.next().flatMap(hexValue), let low = bytes.next().flatMap(hexValue) else { return nil }
            out.append(high << 4 | low)
        }
        return String(validating: out, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
