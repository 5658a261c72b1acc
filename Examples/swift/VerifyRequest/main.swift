// Verify a DPoP request with Keybound. Run: swift run keybound-example
import Keybound

// Configure once, at start-up: the issuers you trust, with their keys and your audience.
let jwks = #"{"keys":[{"kty":"EC","crv":"P-256","kid":"k1","use":"sig","alg":"ES256","x":"l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs","y":"9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA"}]}"#
let issuer = TrustedIssuer(
    identifier: "https://server.example.com",
    audiences: ["https://resource.example.org"],
    keys: try JWKSet(json: jwks)
)
let verifier = try Verifier(issuers: [issuer])  // docs/design.md defaults: all algorithms, 60 s max age, 5 s skew

// Then, per request, from any thread: the method, the URL, and the two headers as received.
let request = DPoPRequest(
    method: "POST",
    url: "https://server.example.com/token",
    authorization: nil,  // a token-endpoint request carries a proof only
    dpop: ["eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JEQSIsImNydiI6IlAtMjU2In19.eyJqdGkiOiItQndDM0VTYzZhY2MybFRjIiwiaHRtIjoiUE9TVCIsImh0dSI6Imh0dHBzOi8vc2VydmVyLmV4YW1wbGUuY29tL3Rva2VuIiwiaWF0IjoxNTYyMjYyNjE2fQ.2-GxA6T8lP4vfrg8v-FdWP0A0zdrj8igiMLvqRMUvwnQg4PtFLbdLXiOSsX0x7NVY-FNyJK70nfbV37xRZT3Lg"]
)
do {
    // `now` (Unix seconds) is optional: left out, the verifier reads its clock (the system's). Here it is the time
    // RFC 9449's example proof was made.
    let verified = try verifier.verify(request, mode: .tokenEndpoint, now: 1_562_262_616)
    print("verified: bind the new token to cnf.jkt = \(verified.jkt ?? "-")")
    // For `Authorization: DPoP <JWT>` requests use mode .resource (the default) and read
    // verified.subject, verified.scope, verified.claim("name") ...
} catch {
    // A refusal: answer error.code.httpStatus with this WWW-Authenticate (and error.dpopNonce as DPoP-Nonce).
    print("refused: \(error.code.name), WWW-Authenticate: \(verifier.wwwAuthenticate(for: error))")
}
