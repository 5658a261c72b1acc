// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: strict base64url decoding (RFC 4648 §5, canonical only).
import FuzzSupport
@_spi(Fuzzing) import Keybound

runFuzzer { data, size in
    _ = FuzzEntryPoints.base64URL(fuzzInput(data, size))
    return 0
}
