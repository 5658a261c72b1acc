//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

/// Where a ``Verifier`` reads the current time (Unix seconds) when a call does not pass `now`.
///
/// The verifier holds one clock (``VerifierPolicy/clock``): the system's wall clock by default, a fixed or
/// hand-driven one in tests. Every call that takes `now` still accepts it, and a given `now` always wins; the clock is
/// read once per call, at its start, so every check of one request sees the same instant.
///
/// - Note: `KeyboundClock` is thread-safe; a custom reading function must be too.
public struct KeyboundClock: Sendable {
    private enum Backing: Sendable {
        case system
        case fixed(Int64)
        case custom(@Sendable () -> Int64)
    }

    private let backing: Backing

    private init(_ backing: Backing) { self.backing = backing }

    /// A clock that calls `read` for the current time, Unix seconds.
    public init(_ read: @escaping @Sendable () -> Int64) { self.backing = .custom(read) }

    /// The system's wall clock (`CLOCK_REALTIME`), whole seconds: the default.
    public static let system = KeyboundClock(.system)

    /// A clock that always answers `seconds`.
    public static func fixed(_ seconds: Int64) -> KeyboundClock { KeyboundClock(.fixed(seconds)) }

    /// The current time, Unix seconds.
    public func now() -> Int64 {
        switch backing {
        case .system: SystemTime.unixSeconds()
        case .fixed(let seconds): seconds
        case .custom(let read): read()
        }
    }
}
