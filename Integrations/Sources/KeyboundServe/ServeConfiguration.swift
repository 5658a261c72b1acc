//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Foundation
public import Keybound
public import KeyboundRedis
public import KeyboundRemoteKeys
public import Logging
import TOMLKit

/// `keybound-serve`'s configuration, read from one TOML file (docs/sidecar.md lists every key).
///
/// Reading it resolves everything that does not need the network: nonce secrets are read from their files or
/// environment variables, local JWK Sets are loaded, remote key-set URLs are checked by ``RemoteKeys``' own rules.
/// `keybound-serve --check` stops there.
public struct ServeConfiguration: Sendable {
    /// Where an issuer's keys come from.
    public enum KeySource: Sendable, Hashable {
        /// Discovery from the issuer identifier (OpenID Connect or RFC 8414 metadata), then its `jwks_uri`.
        case discovery(RemoteKeys.Configuration.Source)
        /// A JWK Set URL, no discovery.
        case jwksURL(String)
        /// A JWK Set file read at start-up and on every reload.
        case jwksFile(String)
    }

    /// A trusted issuer.
    public struct Issuer: Sendable {
        public var identifier: String
        public var audiences: [String]
        public var source: KeySource
        /// The configuration ``RemoteKeys`` fetches with (remote sources only).
        public var remote: RemoteKeys.Configuration?
        /// The key set read from `jwks_file` (file sources only).
        public var localKeys: JWKSet?
    }

    /// A path prefix and what a request under it needs from its token.
    public struct Route: Sendable, Hashable {
        public var prefix: String
        public var requirements: Requirements
    }

    /// How a proxy names the original request.
    public enum ProxyStyle: String, Sendable, Hashable {
        /// nginx `auth_request`: `X-Original-Method` and `X-Original-URI` (set in the nginx configuration).
        /// Only 2xx, 401 and 403 pass `auth_request`, so other refusals are answered 401 with the real status in
        /// `X-Keybound-Status` (docs/sidecar.md).
        case nginx
        /// Traefik ForwardAuth: `X-Forwarded-Method` and `X-Forwarded-Uri`; refusals go to the client as they are.
        case traefik
        /// Envoy `ext_authz` (HTTP service): the check request carries the original method as its own method and
        /// the proxy's `path_prefix` followed by the original path and query as its own path, and the original
        /// authority as its `Host`; refusals go to the client as they are.
        case envoy
    }

    /// How the request URL that the proof's `htu` must match is formed from the original URI.
    public enum URLRule: Sendable, Hashable {
        /// `origin` (scheme and authority, no path) followed by the original URI as the proxy received it.
        case origin(String)
        /// `X-Forwarded-Proto://X-Forwarded-Host` from the trusted proxy, followed by the original URI.
        case forwardedOrigin
        /// The external base URL (which may carry a path prefix) joined to the original URI without `stripPrefix`.
        case externalBase(base: String, stripPrefix: String)
    }

    /// A reverse proxy whose headers are trusted when the sub-request comes from one of its addresses.
    public struct Proxy: Sendable, Hashable {
        public var name: String
        public var style: ProxyStyle
        /// Peer IP addresses, compared as text after normalisation (`::ffff:127.0.0.1` is `127.0.0.1`).
        public var addresses: [String]
        public var url: URLRule
        /// Envoy only: the `path_prefix` of its `http_service`, which the check request's path starts with.
        public var pathPrefix: String? = nil
    }

    /// The response headers a successful answer carries (a `nil` name: not sent).
    public struct IdentityHeaders: Sendable, Hashable {
        public var subject: String? = "X-Keybound-Subject"
        public var scope: String? = "X-Keybound-Scope"
        public var clientID: String? = "X-Keybound-Client-Id"
        public var jkt: String? = "X-Keybound-Jkt"
        /// Token claims (string values) and the header each goes to.
        public var claims: [Claim] = []

        public struct Claim: Sendable, Hashable {
            public var claim: String
            public var header: String
        }
    }

    /// `host:port` to listen on.
    public var listenHost = "127.0.0.1"
    public var listenPort = 9180
    public var issuers: [Issuer] = []
    public var routes: [Route] = []
    public var proxies: [Proxy] = []
    public var identity = IdentityHeaders()
    public var nonces: NonceIssuer?
    /// The in-process replay cache's capacity (entries): the whole store, or the cache in front of Redis.
    public var replayCapacity = 1_048_576
    /// `[replay] key_share`: the live replay entries one proof key may hold, in the in-process cache and, with
    /// `store = "redis"`, fleet-wide in Redis (0: off). `nil`: capacity / 8 in process and off in Redis, as in the
    /// library (docs/design.md "Per-key replay share"). Read at start, like the capacity.
    public var replayKeyShare: Int?
    /// The shared Redis replay store (`store = "redis"`), `nil` for the in-process store alone.
    public var redis: RedisConfiguration?
    /// How log lines are written: `text` (swift-log's stream format) or `json` (one object per line).
    public var logFormat = LogFormat.text
    public var logLevel = Logger.Level.info

    public enum LogFormat: String, Sendable, Hashable {
        case text, json
    }

    /// Why `store = "redis"` is refused in a build without the Redis trait.
    public static let redisUnavailable = "\"redis\" needs keybound-serve built with the Redis trait "
        + "(swift build --package-path Integrations --traits Redis; needs libhiredis-dev)"

    /// The verifier policy this configuration asks for.
    public var policy: VerifierPolicy {
        var policy = VerifierPolicy()
        policy.nonces = nonces
        policy.replayCacheCapacity = replayCapacity
        policy.replayKeyShare = replayKeyShare
        return policy
    }
}

/// A configuration that cannot be used: `where` names the key (`routes[1].scopes`), `message` what is wrong.
public struct ServeConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
    public var location: String
    public var message: String

    public init(_ location: String, _ message: String) {
        self.location = location
        self.message = message
    }

    public var description: String { location.isEmpty ? message : location + ": " + message }
}

extension ServeConfiguration {
    /// Reads and checks the file at `path`.
    public static func load(
        path: String,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(ServeConfigurationError) -> ServeConfiguration {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ServeConfigurationError("", "cannot read the configuration file \(path)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ServeConfigurationError("", "the configuration file is not UTF-8")
        }
        let directory = (path as NSString).deletingLastPathComponent
        return try parse(text, directory: directory, environment: environment)
    }

    /// Reads and checks TOML text; relative file names are taken from `directory`.
    public static func parse(
        _ text: String,
        directory: String = ".",
        environment: [String: String] = [:]
    ) throws(ServeConfigurationError) -> ServeConfiguration {
        let root: TOMLTable
        do {
            root = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw ServeConfigurationError(
                "line \(error.source.begin.line), column \(error.source.begin.column)", "TOML: \(error.description)")
        } catch {
            throw ServeConfigurationError("", "TOML: \(error)")
        }
        var reader = TableReader(root, path: "", directory: directory, environment: environment)
        return try reader.configuration()
    }
}

/// Reads one table, remembering the keys it used so that unknown keys are refused (a typo is an error, not a
/// silently ignored setting).
struct TableReader {
    let table: TOMLTable
    let path: String
    let directory: String
    let environment: [String: String]

    init(_ table: TOMLTable, path: String, directory: String, environment: [String: String]) {
        self.table = table
        self.path = path
        self.directory = directory
        self.environment = environment
    }

    func at(_ key: String) -> String { path.isEmpty ? key : path + "." + key }

    func refuseUnknownKeys(_ known: Set<String>) throws(ServeConfigurationError) {
        for key in table.keys.sorted() where !known.contains(key) {
            throw ServeConfigurationError(at(key), "unknown key")
        }
    }

    func string(_ key: String) throws(ServeConfigurationError) -> String? {
        guard let value = table[key] else { return nil }
        guard let text = value.string else { throw ServeConfigurationError(at(key), "must be a string") }
        return text
    }

    func requiredString(_ key: String) throws(ServeConfigurationError) -> String {
        guard let text = try string(key) else { throw ServeConfigurationError(at(key), "is required") }
        guard !text.isEmpty else { throw ServeConfigurationError(at(key), "must not be empty") }
        return text
    }

    func int(_ key: String, in range: ClosedRange<Int>) throws(ServeConfigurationError) -> Int? {
        guard let value = table[key] else { return nil }
        guard let number = value.int else { throw ServeConfigurationError(at(key), "must be an integer") }
        guard range.contains(number) else {
            throw ServeConfigurationError(at(key), "must be in \(range.lowerBound)...\(range.upperBound)")
        }
        return number
    }

    func bool(_ key: String) throws(ServeConfigurationError) -> Bool? {
        guard let value = table[key] else { return nil }
        guard let flag = value.bool else { throw ServeConfigurationError(at(key), "must be true or false") }
        return flag
    }

    func strings(_ key: String) throws(ServeConfigurationError) -> [String]? {
        guard let value = table[key] else { return nil }
        guard let array = value.array else { throw ServeConfigurationError(at(key), "must be an array of strings") }
        var out: [String] = []
        for index in 0..<array.count {
            guard let text = array[index].string, !text.isEmpty else {
                throw ServeConfigurationError(at(key) + "[\(index)]", "must be a non-empty string")
            }
            out.append(text)
        }
        return out
    }

    func tables(_ key: String) throws(ServeConfigurationError) -> [TableReader] {
        guard let value = table[key] else { return [] }
        guard let array = value.array else {
            throw ServeConfigurationError(at(key), "must be an array of tables ([[\(key)]])")
        }
        var out: [TableReader] = []
        for index in 0..<array.count {
            guard let child = array[index].table else {
                throw ServeConfigurationError(at(key) + "[\(index)]", "must be a table")
            }
            out.append(TableReader(child, path: at(key) + "[\(index)]", directory: directory, environment: environment))
        }
        return out
    }

    func subtable(_ key: String) throws(ServeConfigurationError) -> TableReader? {
        guard let value = table[key] else { return nil }
        guard let child = value.table else { throw ServeConfigurationError(at(key), "must be a table ([\(key)])") }
        return TableReader(child, path: at(key), directory: directory, environment: environment)
    }

    func file(_ name: String) -> String { name.hasPrefix("/") ? name : directory + "/" + name }

    func readFile(_ name: String, key: String) throws(ServeConfigurationError) -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: file(name)) else {
            throw ServeConfigurationError(at(key), "cannot read \(file(name))")
        }
        return Array(data)
    }
}

extension TableReader {
    mutating func configuration() throws(ServeConfigurationError) -> ServeConfiguration {
        try refuseUnknownKeys(["listen", "issuers", "routes", "proxies", "identity_headers", "nonces", "replay", "log"])
        var config = ServeConfiguration()
        if let listen = try string("listen") {
            (config.listenHost, config.listenPort) = try Self.hostAndPort(listen, at: at("listen"))
        }
        config.issuers = try list("issuers", field: "issuer", clash: "is configured twice", hint: "") {
            (reader) throws(ServeConfigurationError) in (try reader.issuer(), { [$0.identifier] })
        }
        config.routes = try list(
            "routes", field: "prefix", clash: "is configured twice", hint: " (prefix = \"/\" for every path)"
        ) { (reader) throws(ServeConfigurationError) in (try reader.route(), { [$0.prefix] }) }
        config.proxies = try list("proxies", field: "addresses", clash: "belongs to two proxies", hint: "") {
            (reader) throws(ServeConfigurationError) in (try reader.proxy(), { $0.addresses })
        }
        if let identity = try subtable("identity_headers") { config.identity = try identity.identityHeaders() }
        if let nonces = try subtable("nonces") { config.nonces = try nonces.nonceIssuer() }
        if let replay = try subtable("replay") {
            try replay.refuseUnknownKeys([
                "store", "capacity", "key_share", "url", "password_env", "key_prefix", "pool_size",
                "command_timeout_ms", "connect_timeout_ms",
            ])
            let store = try replay.string("store") ?? "memory"
            config.replayCapacity = try replay.int("capacity", in: 1024...(1 << 28)) ?? config.replayCapacity
            config.replayKeyShare = try replay.int("key_share", in: 0...config.replayCapacity)
            switch store {
            case "memory":
                for key in ["url", "password_env", "key_prefix", "pool_size", "command_timeout_ms", "connect_timeout_ms"]
                where replay.table[key] != nil {
                    throw ServeConfigurationError(replay.at(key), "applies only to store = \"redis\"")
                }
            case "redis":
                config.redis = try replay.redis(policy: config.policy)
                if let share = config.replayKeyShare { config.redis?.keyShare = share }
            default:
                throw ServeConfigurationError(replay.at("store"), "must be \"memory\" or \"redis\"")
            }
        }
        if let log = try subtable("log") {
            try log.refuseUnknownKeys(["format", "level"])
            if let format = try log.string("format") {
                guard let value = ServeConfiguration.LogFormat(rawValue: format) else {
                    throw ServeConfigurationError(log.at("format"), "must be \"text\" or \"json\"")
                }
                config.logFormat = value
            }
            if let level = try log.string("level") {
                guard let value = Logger.Level(rawValue: level) else {
                    throw ServeConfigurationError(
                        log.at("level"), "must be trace, debug, info, notice, warning, error or critical")
                }
                config.logLevel = value
            }
        }
        return config
    }

    /// The tables of an array of tables (at least one), each read by `read`, which also names what must be unique
    /// across them (`field` of the table that repeats a name is reported).
    func list<Item>(
        _ key: String,
        field: String,
        clash: String,
        hint: String,
        read: (TableReader) throws(ServeConfigurationError) -> (Item, (Item) -> [String])
    ) throws(ServeConfigurationError) -> [Item] {
        var items: [Item] = []
        var seen = Set<String>()
        for (index, reader) in try tables(key).enumerated() {
            let (item, names) = try read(reader)
            for name in names(item) where !seen.insert(name).inserted {
                throw ServeConfigurationError("\(key)[\(index)].\(field)", "\(name) \(clash)")
            }
            items.append(item)
        }
        guard !items.isEmpty else { throw ServeConfigurationError(key, "at least one [[\(key)]] is required" + hint) }
        return items
    }

    static func hostAndPort(_ text: String, at location: String) throws(ServeConfigurationError) -> (String, Int) {
        // host:port, [v6]:port
        var host: Substring
        var portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                throw ServeConfigurationError(location, "must be HOST:PORT or [IPv6]:PORT")
            }
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":") else {
                throw ServeConfigurationError(location, "must be HOST:PORT or [IPv6]:PORT")
            }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        guard !host.isEmpty, let port = Int(portText), (1...65535).contains(port) else {
            throw ServeConfigurationError(location, "must be HOST:PORT with a port in 1...65535")
        }
        return (String(host), port)
    }

    func issuer() throws(ServeConfigurationError) -> ServeConfiguration.Issuer {
        try refuseUnknownKeys([
            "issuer", "audiences", "discovery", "jwks_uri", "jwks_file", "ca_file", "allow_loopback_http",
        ])
        let identifier = try requiredString("issuer")
        guard let audiences = try strings("audiences"), !audiences.isEmpty else {
            throw ServeConfigurationError(at("audiences"), "at least one audience is required")
        }
        let discovery = try string("discovery")
        let jwksURI = try string("jwks_uri")
        let jwksFile = try string("jwks_file")
        guard [discovery, jwksURI, jwksFile].compactMap({ $0 }).count == 1 else {
            throw ServeConfigurationError(path, "give exactly one of discovery, jwks_uri and jwks_file")
        }
        let source: ServeConfiguration.KeySource
        switch (discovery, jwksURI, jwksFile) {
        case (let kind?, _, _):
            switch kind {
            case "openid": source = .discovery(.openIDConnectDiscovery)
            case "oauth": source = .discovery(.authorizationServerMetadata)
            default: throw ServeConfigurationError(at("discovery"), "must be \"openid\" or \"oauth\"")
            }
        case (_, let url?, _): source = .jwksURL(url)
        case (_, _, let name?): source = .jwksFile(file(name))
        default: throw ServeConfigurationError(path, "give exactly one of discovery, jwks_uri and jwks_file")
        }
        var issuer = ServeConfiguration.Issuer(identifier: identifier, audiences: audiences, source: source)
        switch source {
        case .jwksFile(let name):
            for key in ["ca_file", "allow_loopback_http"] where table[key] != nil {
                throw ServeConfigurationError(at(key), "applies only to discovery and jwks_uri")
            }
            let bytes = try readFile(name, key: "jwks_file")
            do {
                issuer.localKeys = try JWKSet(json: bytes)
            } catch {
                throw ServeConfigurationError(at("jwks_file"), "\(name): \(error.code.name): \(error.reason)")
            }
        case .discovery(let kind):
            issuer.remote = try remote(.discovery(issuer: identifier, using: kind))
        case .jwksURL(let url):
            issuer.remote = try remote(.jwks(issuer: identifier, url: url))
        }
        return issuer
    }

    func remote(_ base: RemoteKeys.Configuration) throws(ServeConfigurationError) -> RemoteKeys.Configuration {
        var configuration = base
        if let caFile = try string("ca_file") { configuration.extraTrustRootsPEMFile = file(caFile) }
        configuration.allowLoopbackHTTP = try bool("allow_loopback_http") ?? false
        do {
            _ = try RemoteKeys(configuration)
        } catch {
            throw ServeConfigurationError(path, "\(error)")
        }
        return configuration
    }

    func route() throws(ServeConfigurationError) -> ServeConfiguration.Route {
        try refuseUnknownKeys(["prefix", "scopes", "max_age", "acr"])
        let prefix = try requiredString("prefix")
        guard prefix.hasPrefix("/") else { throw ServeConfigurationError(at("prefix"), "must start with /") }
        let scopes = try strings("scopes") ?? []
        for scope in scopes where scope.contains(" ") {
            throw ServeConfigurationError(at("scopes"), "a scope has no spaces: \"\(scope)\"")
        }
        let maxAge = try int("max_age", in: 0...(366 * 86_400)).map { Int64($0) }
        let acr = try strings("acr") ?? []
        return ServeConfiguration.Route(
            prefix: prefix, requirements: Requirements(scopes: scopes, maxAge: maxAge, acrValues: acr))
    }

    func proxy() throws(ServeConfigurationError) -> ServeConfiguration.Proxy {
        try refuseUnknownKeys([
            "name", "style", "addresses", "origin", "external_base_url", "strip_prefix", "path_prefix",
        ])
        let styleName = try requiredString("style")
        guard let style = ServeConfiguration.ProxyStyle(rawValue: styleName) else {
            throw ServeConfigurationError(at("style"), "must be \"nginx\", \"traefik\" or \"envoy\"")
        }
        var pathPrefix: String?
        if style == .envoy {
            pathPrefix = try checkPathPrefix(requiredString("path_prefix"))
        } else if table["path_prefix"] != nil {
            throw ServeConfigurationError(at("path_prefix"), "applies only to style = \"envoy\"")
        }
        guard let addresses = try strings("addresses"), !addresses.isEmpty else {
            throw ServeConfigurationError(at("addresses"), "at least one proxy address is required")
        }
        let normalised = addresses.map(PeerAddress.normalise)
        for (index, address) in normalised.enumerated() where !PeerAddress.isIPAddress(address) {
            throw ServeConfigurationError(at("addresses") + "[\(index)]", "\"\(addresses[index])\" is not an IP address")
        }
        let origin = try string("origin")
        let base = try string("external_base_url")
        let strip = try string("strip_prefix")
        let url: ServeConfiguration.URLRule
        switch (origin, base) {
        case (nil, nil):
            throw ServeConfigurationError(path, "give origin (or origin = \"forwarded\") or external_base_url")
        case (.some, .some):
            throw ServeConfigurationError(path, "give origin or external_base_url, not both")
        case (let origin?, nil):
            if strip != nil { throw ServeConfigurationError(at("strip_prefix"), "applies only to external_base_url") }
            if origin == "forwarded" {
                url = .forwardedOrigin
            } else {
                guard RequestURL.isOrigin(origin) else {
                    throw ServeConfigurationError(
                        at("origin"), "must be scheme://host[:port] with no path, query or fragment, or \"forwarded\"")
                }
                url = .origin(origin)
            }
        case (nil, let base?):
            guard RequestURL.isBaseURL(base) else {
                throw ServeConfigurationError(
                    at("external_base_url"), "must be an http(s) URL with no query, fragment or credentials")
            }
            let prefix = strip ?? ""
            guard prefix.isEmpty || (prefix.hasPrefix("/") && !prefix.hasSuffix("/")) else {
                throw ServeConfigurationError(at("strip_prefix"), "must start with / and not end with /")
            }
            url = .externalBase(base: base, stripPrefix: prefix)
        }
        return ServeConfiguration.Proxy(
            name: try string("name") ?? style.rawValue, style: style, addresses: normalised, url: url,
            pathPrefix: pathPrefix)
    }

    /// Envoy's `path_prefix`: the check requests' paths start with it, so it must be a plain path of its own, apart
    /// from the service's `/healthz`, `/readyz` and `/metrics`.
    func checkPathPrefix(_ prefix: String) throws(ServeConfigurationError) -> String {
        guard prefix.hasPrefix("/"), !prefix.hasSuffix("/") else {
            throw ServeConfigurationError(at("path_prefix"), "must start with / and not end with /")
        }
        let segments = prefix.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false).dropFirst()
        for segment in segments {
            let plain = !segment.isEmpty && segment.allSatisfy { byte in
                (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                    || "-._~".utf8.contains(byte)
            }
            let dots = segment.elementsEqual(".".utf8) || segment.elementsEqual("..".utf8)
            guard plain, !dots else {
                throw ServeConfigurationError(
                    at("path_prefix"), "each segment must be letters, digits, -, ., _ or ~ (not empty, . or ..)")
            }
        }
        let first = segments.first.map { String(decoding: $0, as: UTF8.self).lowercased() } ?? ""
        guard !["healthz", "readyz", "metrics"].contains(first) else {
            throw ServeConfigurationError(at("path_prefix"), "must not lie under /healthz, /readyz or /metrics")
        }
        return prefix
    }

    func identityHeaders() throws(ServeConfigurationError) -> ServeConfiguration.IdentityHeaders {
        try refuseUnknownKeys(["subject", "scope", "client_id", "jkt", "claims"])
        var headers = ServeConfiguration.IdentityHeaders()
        func name(_ key: String, _ fallback: String?) throws(ServeConfigurationError) -> String? {
            guard let value = try string(key) else { return fallback }
            if value.isEmpty { return nil }
            guard ResponseHeaders.isHeaderName(value) else {
                throw ServeConfigurationError(at(key), "\"\(value)\" is not a header name")
            }
            return value
        }
        headers.subject = try name("subject", headers.subject)
        headers.scope = try name("scope", headers.scope)
        headers.clientID = try name("client_id", headers.clientID)
        headers.jkt = try name("jkt", headers.jkt)
        if let claims = try subtable("claims") {
            for claim in claims.table.keys.sorted() {
                guard let header = try claims.string(claim), ResponseHeaders.isHeaderName(header) else {
                    throw ServeConfigurationError(claims.at(claim), "must be a header name")
                }
                headers.claims.append(.init(claim: claim, header: header))
            }
        }
        var seen = Set<String>()
        let names = [headers.subject, headers.scope, headers.clientID, headers.jkt].compactMap { $0 }
            + headers.claims.map(\.header)
        for header in names where !seen.insert(header.lowercased()).inserted {
            throw ServeConfigurationError(path, "the header \(header) is used twice")
        }
        for header in names where ResponseHeaders.reserved.contains(header.lowercased()) {
            throw ServeConfigurationError(path, "the header \(header) is reserved")
        }
        return headers
    }

    /// `[replay]` with `store = "redis"`: the URL (no password in it: `password_env` names the variable that holds
    /// it), the key prefix, the pool and the timeouts; the acceptance window is the verifier's.
    func redis(policy: VerifierPolicy) throws(ServeConfigurationError) -> RedisConfiguration {
        #if Redis
        let url = try requiredString("url")
        var redis: RedisConfiguration
        do {
            redis = try RedisConfiguration(url: url)
        } catch {
            throw ServeConfigurationError(at("url"), error.reason)
        }
        guard redis.password == nil else {
            throw ServeConfigurationError(at("url"), "holds a password: give it in the variable password_env names")
        }
        if let variable = try string("password_env") {
            guard let value = environment[variable], !value.isEmpty else {
                throw ServeConfigurationError(at("password_env"), "the environment variable \(variable) is not set")
            }
            redis.password = value
        }
        redis.keyPrefix = try string("key_prefix") ?? redis.keyPrefix
        redis.poolSize = try int("pool_size", in: 1...1_024) ?? redis.poolSize
        redis.commandTimeoutMilliseconds = try int("command_timeout_ms", in: 1...60_000)
            ?? redis.commandTimeoutMilliseconds
        redis.connectTimeoutMilliseconds = try int("connect_timeout_ms", in: 1...60_000)
            ?? redis.connectTimeoutMilliseconds
        // Redis keeps each proof as long as the verifier accepts it.
        redis.acceptanceWindowSeconds = policy.proofMaxAgeSeconds + policy.clockSkewSeconds
        do {
            try redis.validate()
        } catch {
            throw ServeConfigurationError(path, error.reason)
        }
        return redis
        #else
        throw ServeConfigurationError(at("store"), ServeConfiguration.redisUnavailable)
        #endif
    }

    func nonceIssuer() throws(ServeConfigurationError) -> NonceIssuer {
        try refuseUnknownKeys(["secret_files", "secret_env", "window_seconds", "bound_to_key"])
        var secrets: [[UInt8]] = []
        for name in try strings("secret_files") ?? [] {
            secrets.append(Self.trimmingTrailingNewlines(try readFile(name, key: "secret_files")))
        }
        for variable in try strings("secret_env") ?? [] {
            guard let value = environment[variable] else {
                throw ServeConfigurationError(at("secret_env"), "the environment variable \(variable) is not set")
            }
            secrets.append(Array(value.utf8))
        }
        let window = try int("window_seconds", in: 1...86_400) ?? 300
        let bound = try bool("bound_to_key") ?? false
        do {
            return try NonceIssuer(secrets: secrets, windowSeconds: Int64(window), boundToKey: bound)
        } catch {
            throw ServeConfigurationError(path, error.reason + " (the first secret mints; the others still verify)")
        }
    }

    static func trimmingTrailingNewlines(_ bytes: [UInt8]) -> [UInt8] {
        var end = bytes.count
        while end > 0, bytes[end - 1] == 0x0A || bytes[end - 1] == 0x0D { end -= 1 }
        return Array(bytes[..<end])
    }
}
