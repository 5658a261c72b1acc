//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Keybound
import KeyboundRedis
import Testing

@Suite struct RedisConfigurationTests {
    @Test func redisURLs() throws {
        let plain = try RedisConfiguration(url: "redis://127.0.0.1:6380/2")
        #expect(plain.address == .tcp(host: "127.0.0.1", port: 6380))
        #expect(plain.database == 2)
        #expect(plain.password == nil)
        let defaults = try RedisConfiguration(url: "redis://cache.internal")
        #expect(defaults.address == .tcp(host: "cache.internal", port: 6379))
        #expect(defaults.database == 0)
        let secret = try RedisConfiguration(url: "redis://:p%40ss@[::1]:7000/")
        #expect(secret.address == .tcp(host: "::1", port: 7000))
        #expect(secret.password == "p@ss")
        #expect(secret.username == nil)
        #expect(secret.redactedURL == "redis://[::1]:7000/0")
        let acl = try RedisConfiguration(url: "redis://fleet:pw@host:1/3")
        #expect(acl.username == "fleet")
        #expect(acl.password == "pw")
        let unix = try RedisConfiguration(url: "unix:///run/redis/redis.sock?db=4&password=x%20y")
        #expect(unix.address == .unix(path: "/run/redis/redis.sock"))
        #expect(unix.database == 4)
        #expect(unix.password == "x y")
        #expect(unix.keyShare == 0)
        let shared = try RedisConfiguration(url: "redis://127.0.0.1:6380/2?key_share=100")
        #expect(shared.address == .tcp(host: "127.0.0.1", port: 6380))
        #expect((shared.database, shared.keyShare) == (2, 100))
        let both = try RedisConfiguration(url: "unix:///s.sock?key_share=0&db=1")
        #expect((both.database, both.keyShare) == (1, 0))
    }

    @Test(arguments: [
        "http://host:6379", "redis://", "redis://host:0", "redis://host:70000", "redis://host:port", "redis://host/db",
        "redis://[::1", "redis://:%zz@host", "unix://relative.sock", "unix:///s.sock?db=x", "unix:///s.sock?tls=1",
        "redis://host?key_share=-1", "redis://host?key_share=x", "redis://host?key_share", "redis://host/0?tls=1",
    ])
    func badURLs(_ url: String) {
        #expect(throws: KeyboundError(.invalidConfiguration)) { try RedisConfiguration(url: url) }
    }

    @Test func badValues() throws {
        var configuration = try RedisConfiguration(url: "redis://127.0.0.1")
        configuration.poolSize = 0
        #expect(throws: KeyboundError(.invalidConfiguration)) { try configuration.validate() }
        configuration.poolSize = 4
        configuration.commandTimeoutMilliseconds = 0
        #expect(throws: KeyboundError(.invalidConfiguration)) { try configuration.validate() }
        configuration.commandTimeoutMilliseconds = 100
        configuration.keyPrefix = ""
        #expect(throws: KeyboundError(.invalidConfiguration)) { try configuration.validate() }
        configuration.keyPrefix = "k:"
        try configuration.validate()
    }
}
