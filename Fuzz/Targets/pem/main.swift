// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: issuer keys as PEM (RFC 7468), and the same bytes as a DER SubjectPublicKeyInfo and as a DER
// X.509 certificate (docs/design.md "Issuer keys as PEM").
import FuzzSupport
@_spi(Fuzzing) import Keybound

runFuzzer { data, size in
    _ = FuzzEntryPoints.pem(fuzzInput(data, size))
    return 0
}
