//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

import Keybound
import KeyboundRedis

/// `verify --replay-store URL`: the shared replay store, available when built with the Redis trait.
enum ReplayStoreOption {
    /// The store for `url` (`redis://[:password@]HOST:PORT/DB[?key_share=N]` or `unix://PATH[?db=N&password=P]`), with
    /// an in-process cache in front; `nil` when no URL is given. `keyShare`, when given, and `overrides` set the
    /// store's fleet-wide per-key share (0: off) over the URL's `key_share`.
    static func store(url: String?, keyShare: Int?, overrides: [String: Int]) throws(ToolError) -> (any ReplayStore)? {
        guard let url else { return nil }
        #if Redis
        do {
            var configuration = try RedisConfiguration(url: url)
            if let keyShare { configuration.keyShare = keyShare }
            configuration.keyShareOverrides = overrides
            return LayeredReplayStore(shared: try RedisReplayStore(configuration: configuration))
        } catch {
            throw ToolError("invalid --replay-store: \(error.reason)")
        }
        #else
        throw ToolError("--replay-store needs a build with Redis support: swift build --traits default,Redis "
            + "(needs libhiredis-dev; --traits Redis alone would leave out the OpenSSL backend)")
        #endif
    }
}
