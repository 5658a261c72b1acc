//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

// Generated with Python `cryptography` by the script at the end of this file; do not edit by hand.

/// Keys and signatures made by an independent implementation, over ``message``.
enum CryptoFixtures {
    static let message: [UInt8] = hex(
        "65794a68624763694f694a46557a49314e694973496e523563434936496d527762334172616e6430496e302e65794a71",
        "64476b694f694a6d6158683064584a6c496e30"
    )
    static let p256X: [UInt8] = hex(
        "c682607ae81f7afbaa0a70b8e47cb923cee27116e354396238ebb94943dc4ac9"
    )
    static let p256Y: [UInt8] = hex(
        "8476233689d30c1b0a872a2abc8b56f07de17f50418c0a6df20cc8935aac8a94"
    )
    static let es256Signature: [UInt8] = hex(
        "8b2a77ce1678d548c12275d85c27f565f37e97d39d69bf524c87d7d83be5735ca77e8b59c25b4cd654ab8d9023f8cb9a",
        "c431f49df934d7383006b530844d6387"
    )
    static let p384X: [UInt8] = hex(
        "21cfc418be0fac81ed0d6dd4873e239308f98a73784afcc73efb368662f1d0d8af3a572bb0903be9f9f351474bc75956"
    )
    static let p384Y: [UInt8] = hex(
        "ef118d20d7dd5a47d8931394224c20dcd90434e43afc64199f23e10f333e94997794c0c5639753247c6590c0230ac6ac"
    )
    static let es384Signature: [UInt8] = hex(
        "eddbc92eb98b1aa32c9800a099ed37622a9cfa7d504bb0a072237611e02775308e4b542c2d3e353b6a9414123df29a96",
        "3ca2af962bca3ac6111c12b40c379791819d3806b9752558f659bffecadec7fa2c5c42931370526fa908d77295517849"
    )
    static let p384WithSHA256Signature: [UInt8] = hex(
        "ac4d0f9b074ae2d4bcad4b81366d06e6cf60f697e1c8cc1c39c40c32972c82596ab263a083db491d0a09fc502e9f3dd8",
        "f43e1c82bc0d72cdb16352c6dc004f79c179ce4ba51da37d4e727f94e30c5252729547220958be5abe0baae5dd2bbf1a"
    )
    static let p521X: [UInt8] = hex(
        "0122848a189d4cc35848658d5b02e73cc9984d1f2bfd390a75f35cf3e36405d128b4a7994d52487568a9920eac589ef5",
        "e5d1ad88f73b7b9aa3bcea2262a3e9c20d3d"
    )
    static let p521Y: [UInt8] = hex(
        "010dc565fd6386d5e11f62148523ebc746a864b5b101888b0844c69119fd3ed9f82a0f2da61ae5799557975ba0a28e35",
        "c3c7a332668a229b4255575ac307a56f4f87"
    )
    static let es512Signature: [UInt8] = hex(
        "01dbf394c01f77b06472e10ffdaa019cedf86e79db4508b87a2dd7e0a2075c111f3f9f78a1250d833feb046a8336eff9",
        "c78ec7c02a7ec6dc7d0324d5c516bacdf17b01068e5e2d87da8f5897570f439fa9304116ffa937590a908cb7617ffa92",
        "1cde8fd5a5372fa2f1749aef4d574b0058699ee412c0229aa8b9453578619dc97ab2035b"
    )
    static let rsaN: [UInt8] = hex(
        "cbeb3045b1b4e610b9665988d21758af1dc79fee7a3af5682aa8fa082da39f992a78b48580ea5cf0ead88ad14d6ad03a",
        "b522455e13b3b4185b3ab6bb0cc06ebe6e0303614febdb40d663ae92005abc2d5ab87f65e0923d983d0c28f274b8e09d",
        "0e14f1456966605322f42ebc3170d976a70ac6d83bdd97fc71bc9dfd4478daa74d2bc4821237115a0bd5f4068404b717",
        "1446fccd6e8fe0ff4ff4763a8d6b21025dd912336d425e52773cd50d90657d5c13fe1e833d8f7cfe1a0f4654a35a3ded",
        "0699927488a8b0262f10f4a6899ac1b08fbd18045013a4ff8e5be00f4f956743b1df66417c951e5b7c259298b5b3b6e2",
        "204bcebb68466cf0635106e53d9fce8d"
    )
    static let rsaE: [UInt8] = hex(
        "010001"
    )
    static let rs256Signature: [UInt8] = hex(
        "7a4ea043499fb0153055d3af590fd11392d55cafae5a4ffa32bf18f4554b082a6a610f1b5da6b6d3ec27106dd7d81aea",
        "b96218f4e46577843192e164e3ad6f83d2bdaf6ac11930c692e9bfe74424206f661a27d61defbd4f5ce17f0a6ac1047d",
        "34990c26d19368aba814cb4373f2ccebba52acd8748777a503f3aa0ad956245f8d6b3ce38bfcca9c9d2a6bb8ec49725d",
        "b76cf609d15878516791a6593bef37d79b2ba7b198be51cc6484f2d91f0304b455e28b319f60b4608fc23c5267f2a4de",
        "404ff132f33026abe48be1b11bf24b3bb5cd8690cda0db1978887086c884497d5271fd6cb8dc141b8051a6d7197f8e3c",
        "c3435a8b89fa83a0573a87261d9467ab"
    )
    static let rs512Signature: [UInt8] = hex(
        "18d1e9e25998e6945146c09b15ad6e77ea99867213098e2d53a07c48591e85f53d1d9cb60d328978e02ed51946a41cb2",
        "9af6a2088f9d0fc1d4f060ac29acbf9bef6d23a44a1cee93d99ff8827ae99f3cd565004713fe8c30b60e986ff0ade888",
        "4dd640163fc72212342c302f885eaf61987e72374aaffc4c4741d08bf622df41d619b625dc664db2c5cd69f74487fd7b",
        "fb93b49b97eac0db68707fbe4a43c25e89e78347a9d796acf5bc5d982276249066718f766b3df53e5fcaf2051bc8cb14",
        "054802dc48400ee198068802987d955c359c33b1543f8a76db71f20982c2548e632666c6f93200ea2ebd20de2eb57870",
        "3ac5bf6e1d2a3e1d1b28bc5ede1c366a"
    )
    static let ps256Signature: [UInt8] = hex(
        "03e5f3756003916a3920fe63608a5e61a840fa1474dbaefa13b31f87b35f4b4f71a92cdccc7e39d168e89a3f419c0090",
        "be3938c85a84c1e79afe8a0e0327984188c07d486649b5319194ae25e585450d45e946460afebdad7a58ac43c6b436fb",
        "cff890431a8fd13c5e52061800d6279fd425476387584e39c50c39d4623f909f633b9f09cbbb5ada5480d350f2939520",
        "c3f4fdcaeece33c675ba736df29c1ae8ec0ac9c33438c03c2e02ef7640c020cd116b8ac31bde22757769acb5295accb9",
        "e02ac384442e3ac2955c0543312fa0fc446cc8e11feb40fa49886a1a735d2b4eac1cf58e28a0bbf0257012cb90478fa5",
        "79e0db215a73e86e2979239c1f8572ad"
    )
    static let ps384Signature: [UInt8] = hex(
        "09b2ccef29dc34ee987a3d50bc4ae13cfd65602bae4228f7fa70300fa462f8d58671ab733b06abad0bda9cc95820e1d4",
        "f153ef28213bf5471cf4ba8cd6f7abf97ef0d1b4cc06b12f37654e9649eada43631dd1305ccb5db0f2de1c9350d73d93",
        "dc4fa4cc72a6ced7af73946735ba2e814bb6f646d64d3ebf9ddea8a3f13d35da9cfb5f6f1d97ad84595e16f3306dd670",
        "47c7ba2dfdbe2d3a5e20fc514ca6e96e9ce3cd1e0ca553368899a4585fd453e38833a93c6fba1232ba56bbf9c3459082",
        "d73fceb1bb0ad2b6196f4f3e5824438414e387bbf629a12379ff001d8f447beec5008a69618053dbd5b4d3a285c6d319",
        "e50f59b6cf489f185c6fc77b4bac34c1"
    )
    static let ps256Salt0Signature: [UInt8] = hex(
        "b2ffa45e43c6fd993b23e9065ca6381126f2ee31cfcf64561bc8af16032d8df2d16e36f4ea7085653f22a44065a0f5f0",
        "57cc8f6e708dbccb81b7d397b7fc84569b77cb8776c75d26c95c279395e0f5d30425779cea9ee0f52e866331b9769987",
        "4874e8f500d9bdc8de65ec2aed9870113eb8c0fbd2166d7c61d986d426225ce2dbe86d9a1378f2104fb0a7de8bba7b27",
        "7cefc3642cdb5b95875329a51a8efa32aa740d554f48b4b312f4f53e213ebc9942b044cd9892a3d7b1373820b4421f3b",
        "62fd70588163b2e35fdaf8ab95ab9c360dc4e6eb03231131ac9e50e5db03b218239647bad08b063b3c493ea4c13e5143",
        "3d4019af27d921095b7e45ba59ac223b"
    )
    static let ps256Salt20Signature: [UInt8] = hex(
        "2fae03fa1c21abc0aa43eac9169db1a10d1f16eda70f1678c0671f07055c3ff7ff1033fe7a03055322ff473430cbda8e",
        "fa3f012f05b53310164d82ec6ac72af76ed26788f18a14f7a4649805bac0073c56b5d09617b5cb590569628c61d1f770",
        "1a76075d85c0eaea6edbb62cb85f31f36282ff7dbd996df7f02c90cf612a8f8d6bdf3c194411616b7cbf90c591446be6",
        "3ba6045f76e0e0534644ff94f22d9b2610469b3058ab9230e643f2fba20153602cf9cf429feedc649c664b1a084034f7",
        "a572d609abafb96b78cad83e6fd900ed592077ba7fea5081d877317c6c86bb64a11f7fb10e3140e8d2065fdeebd59a73",
        "de1fe42cec537ec18541f4ff3b4964aa"
    )
    static let ps256Salt64Signature: [UInt8] = hex(
        "0ff92f92bc34b3d06e37989baeb59f2dafaed2bca4a70bb9b7a6681dd3bef063ec64ac8c8f51f50e1d3e6a4acd6a14f5",
        "1358891870d2995e4ebb8eef69a4b51abddc378b4042a09e8e2013623e765bdd2743c85dba73e26c4e28b7654becb89e",
        "5d91fdff44211ae3910ff13dc1ed014e5fdab17a4ee45116c59a45c22898e850b2147ccd874510631388b3294b3491c2",
        "0bb44c29ffe4e78dc1b25d7357ccfbddcd4c6ca3a90df27c4f437dcee19a23870e996ebb9fa4f928a08017e1c41d7071",
        "60aa0bcb2e372a24a8db773f42b6a9e111800d32ad167665850009d251cf0ff937fa631f9d9bb30c44a4d20c7b6963a5",
        "224c704aef0e03caf1e8a47c6b3c8219"
    )
    static let ps256MGF1SHA1Signature: [UInt8] = hex(
        "047d3b011395bc833fe80789dbc9db4d4b11ac2b8399dbfaf2e69304ed65ee81620aa705db85326d970569b5b4dcebbd",
        "06aea166fa67c2aa974717d210e706f664552a3579540b3d01025d37f1b8af936b0ca68ee5f4ed43d81bb02f2d018228",
        "29f1d79555c02e02995cf8c4b5cd33dec7cb4e0c4d72b3f67a11c0376d71dbd60cdc343beff3bc03b0557cae6a600733",
        "980cb5c114235a6c692cb5585b3f13b02d1cb524eb8fb8017d1a0103382cd2275290eeac88e8efaf8e87c6408529d040",
        "9ac79368a02e5bd14283df065e428967c8b27081c6b4616ae613e4735d25de60c5a3083c837af3b69a891fdafd47392a",
        "26294082c5e0c8c005d0fa10095015a9"
    )
    static let ps256MGF1SHA512Signature: [UInt8] = hex(
        "74e413d309f4b97d27b11668ca21a3fd30ff262fd71a043307cfe279bbd7a0d0647aa328dadfea8ad40761c9370f9c7e",
        "16de353e496da9dedea7bdc3dceb642bb5bc12db4814cd0afcefe622abf919a9ae1bed2b259a67f5f7f5284c1f84444a",
        "0fa6858270254b100ac83a3e146c7d68dc7e73d4c039afb9391a954a659284de8c8b677553724413955acfe510a846d3",
        "c7b4a90f3ee2986b3c13b4bbabadc27db24c3f2e63e472fc64db87f7e73b9480425d8db4c3146a42b3559ce672d23607",
        "3a3c5911ba4b1a9727a9592b97b5badac6d2ff345dc5c11f612b93615cec618dc2fd8c766fd5d5585979fc93e904ac4d",
        "6fb041bc8d5cf3c526f9726d6abdf99a"
    )
    static let ed25519X: [UInt8] = hex(
        "7f791c587e7e9b4c30c66b715e5cbce0053a6c3d85b5d9e1649290fec7936dcd"
    )
    static let ed25519Signature: [UInt8] = hex(
        "840c6f952a56deffbaa43697140d35da0bdd4c02586f2a0375605742d4448832848b7c7c19c7636e3af10697d2211e31",
        "29d8c6e43ac0cca21e490c9cd54dd106"
    )
}

/* The generator, verbatim:

#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# This source file is part of the Keybound open source project.
#
# Generates CryptoFixtures.swift: keys and signatures made by Python `cryptography` (an oracle independent of
# Keybound), for the Crypto unit tests. This script is kept verbatim at the end of CryptoFixtures.swift (SwiftPM
# would warn about a .py file inside the test target). To regenerate, from Tests/KeyboundTests/Crypto/Fixtures:
#   sed -n '/^#!\/usr\/bin\/env python3$/,/^# END OF GENERATOR$/p' CryptoFixtures.swift > /tmp/gen.py
#   python3 /tmp/gen.py /tmp/gen.py > CryptoFixtures.swift
# Signatures are randomised (ECDSA, PSS), so a re-run changes the bytes but not the meaning.
import sys
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, utils

MESSAGE = b"eyJhbGciOiJFUzI1NiIsInR5cCI6ImRwb3Arand0In0.eyJqdGkiOiJmaXh0dXJlIn0"

def raw_ecdsa(key, curve_bytes, h):
    r, s = utils.decode_dss_signature(key.sign(MESSAGE, ec.ECDSA(h)))
    return r.to_bytes(curve_bytes, "big") + s.to_bytes(curve_bytes, "big")

def ec_key(curve, size, h):
    key = ec.generate_private_key(curve)
    nums = key.public_key().public_numbers()
    return nums.x.to_bytes(size, "big"), nums.y.to_bytes(size, "big"), raw_ecdsa(key, size, h), key

def minimal(i):
    return i.to_bytes((i.bit_length() + 7) // 8, "big")

out = {}
out["message"] = MESSAGE
x, y, sig, k256 = ec_key(ec.SECP256R1(), 32, hashes.SHA256())
out.update(p256X=x, p256Y=y, es256Signature=sig)
x, y, sig, k384 = ec_key(ec.SECP384R1(), 48, hashes.SHA384())
out.update(p384X=x, p384Y=y, es384Signature=sig)
out["p384WithSHA256Signature"] = raw_ecdsa(k384, 48, hashes.SHA256())  # ATTACKS A3 (a)
x, y, sig, _ = ec_key(ec.SECP521R1(), 66, hashes.SHA512())
out.update(p521X=x, p521Y=y, es512Signature=sig)

rkey = rsa.generate_private_key(public_exponent=65537, key_size=2048)
pn = rkey.public_key().public_numbers()
out.update(rsaN=minimal(pn.n), rsaE=minimal(pn.e))
out["rs256Signature"] = rkey.sign(MESSAGE, padding.PKCS1v15(), hashes.SHA256())
out["rs512Signature"] = rkey.sign(MESSAGE, padding.PKCS1v15(), hashes.SHA512())
def pss(h, mgf_h, salt):
    return rkey.sign(MESSAGE, padding.PSS(mgf=padding.MGF1(mgf_h), salt_length=salt), h)
out["ps256Signature"] = pss(hashes.SHA256(), hashes.SHA256(), 32)
out["ps384Signature"] = pss(hashes.SHA384(), hashes.SHA384(), 48)
out["ps256Salt0Signature"] = pss(hashes.SHA256(), hashes.SHA256(), 0)
out["ps256Salt20Signature"] = pss(hashes.SHA256(), hashes.SHA256(), 20)
out["ps256Salt64Signature"] = pss(hashes.SHA256(), hashes.SHA256(), 64)
out["ps256MGF1SHA1Signature"] = pss(hashes.SHA256(), hashes.SHA1(), 32)
out["ps256MGF1SHA512Signature"] = pss(hashes.SHA256(), hashes.SHA512(), 32)

ekey = ed25519.Ed25519PrivateKey.generate()
from cryptography.hazmat.primitives import serialization
out["ed25519X"] = ekey.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
out["ed25519Signature"] = ekey.sign(MESSAGE)

def swift_array(b):
    h = b.hex()
    lines = [h[i:i + 96] for i in range(0, len(h), 96)]
    return "hex(\n" + ",\n".join(f'        "{l}"' for l in lines) + "\n    )"

print("""//===----------------------------------------------------------------------===//
// SPDX-License-Identifier: Apache-2.0
// This source file is part of the Keybound open source project.
//===----------------------------------------------------------------------===//

// Generated with Python `cryptography` by the script at the end of this file; do not edit by hand.

/// Keys and signatures made by an independent implementation, over ``message``.
enum CryptoFixtures {""")
for name, value in out.items():
    print(f"    static let {name}: [UInt8] = {swift_array(value)}")
print("}")
print()
print("/* The generator, verbatim:")
print()
print(open(sys.argv[1]).read().rstrip("\n"))
print("*/")
# END OF GENERATOR
*/
