//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The one place the core reads the wall clock (``KeyboundClock/system``).
enum SystemTime {
    /// `CLOCK_REALTIME` in whole seconds since the Unix epoch (the fraction is dropped).
    static func unixSeconds() -> Int64 {
        var spec = timespec()
        // Safe because `spec` is a local the call fills and nothing keeps its address.
        guard unsafe clock_gettime(CLOCK_REALTIME, &spec) == 0 else { return 0 }
        return Int64(spec.tv_sec)
    }
}
