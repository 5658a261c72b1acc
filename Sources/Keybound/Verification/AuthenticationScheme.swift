//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

/// The `Authorization` scheme a request was verified (or refused) under (docs/design.md "Contracts → Bearer
/// migration mode").
public enum AuthenticationScheme: Sendable, Hashable {
    /// `Authorization: DPoP <token>` with a proof (RFC 9449 §7.1), or a token-endpoint proof alone.
    case dpop
    /// `Authorization: Bearer <token>` without a proof (RFC 6750 §2.1), accepted only in Bearer migration mode
    /// (``VerifierPolicy/allowBearer``, RFC 9449 §7.2) and only for a token without `cnf`.
    case bearer
}
