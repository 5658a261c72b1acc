//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

/// Keybound's version, which the C header's `KB_VERSION_*` macros repeat.
public enum KeyboundVersion {
    public static let major = 1
    public static let minor = 0
    public static let patch = 0
    public static var number: Int { major * 10000 + minor * 100 + patch }
    public static var string: String { "\(major).\(minor).\(patch)" }
}
