// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title Acceptance check of a v2 round: KZG-summed client commitments, chunk proofs, one
/// batched pairing check (design-notes/aggregation-v2.md §4.4; the reference is
/// zkagg.aggregation.kzg_round, which computes the same z, v, coefficients and pairs).
/// @notice The chunk circuit's verifying key and the SRS's [tau]_2 are appended to the code at
/// deployment — key words, then their count — as for zkagg's Groth16 verifier:
///   [alpha (2), beta (4), gamma (4), delta (4), IC[0..3] (8), tauG2 (4), L]   (27 words)
/// with G2 coordinates in the EIP-197 order (x.c1, x.c0, y.c1, y.c0). The chunk circuit's public
/// inputs are (z, e_j, h_j); L is the chunk length its key was made for (one key per L), so
/// the stride of the chunks in F is the key's, never the caller's. The ledger contract that accepts the round is msg.sender: it is
/// bound into z, so a proof made for one ledger never passes for another.
///
/// The caller (the ledger) passes the points it selected from its own records (C_u of
/// survivors, E_u of dropped clients, each already checked against its stored hash) and the N it
/// computed. Every refusal is a named error; a well-formed round that fails reverts RoundRejected.
contract RoundCheckV2 {
    error KeyMissing();
    error WrongLength(uint256 what, uint256 expected, uint256 got); // what: see LEN_* constants
    error ScalarNotInField(uint256 what, uint256 index); // what: see IN_* constants
    error InvalidPoint(uint256 what, uint256 index); // a coordinate >= q or off the curve
    error PointNotInSubgroup(); // the pairing precompile refused a G2 point
    error PrecompileFailed();
    error RoundRejected();

    uint256 internal constant LEN_CHUNKS = 0; // no chunk, or e and h of different lengths
    uint256 internal constant LEN_PROOFS = 1; // proofs is not 8 words per chunk
    uint256 internal constant LEN_POINTS = 2; // points is not 2 words per point, or empty
    uint256 internal constant IN_EVALUATION = 0;
    uint256 internal constant IN_DIGEST = 1;
    uint256 internal constant IN_RHO = 2;
    uint256 internal constant IN_WEIGHT = 3;
    uint256 internal constant PT_REVEALED = 0;
    uint256 internal constant PT_OPENING = 1;
    uint256 internal constant PT_PROOF = 2;

    uint256 internal constant R = 21888242871839275222246405745257275088548364400416034343698204186575808495617;
    uint256 internal constant Q = 21888242871839275222246405745257275088696311157297823662689037894645226208583;
    uint256 internal constant TWIST_B0 = 19485874751759354771024239261021720505790618469301721065564631296452457478373;
    uint256 internal constant TWIST_B1 = 266929791119991161246907387137283842545076965332900288569378510910307636690;
    // the G2 generator in EIP-197 order
    uint256 internal constant G2X1 = 11559732032986387107991004021392285783925812861821192530917403151452391805634;
    uint256 internal constant G2X0 = 10857046999023057135944570762232829481370756359578518086990519993285655852781;
    uint256 internal constant G2Y1 = 4082367875863433681332203403145435568316851327593401208105741076214120093531;
    uint256 internal constant G2Y0 = 8495653923123431417604973247489272438418190587263600148770280649306958101930;
    uint256 internal constant KEY_WORDS = 27;
    uint256 internal constant MAX_CHUNK_LEN = 1 << 32;
    bytes32 internal constant DOMAIN = "zkagg/B/v1";

    struct Round {
        bytes32 job;
        uint256 round;
        uint256 totalWeight; // N, computed by the ledger
        uint256[] points; // revealed points to sum into C_S, 2 words each
        uint256 rho;
        uint256[2] opening; // pi
        uint256[] proofs; // 8 words per chunk: A (2), B (4), C (2)
        uint256[] evaluations; // e_j
        uint256[] digests; // h_j
    }

    /// Scratch of one check (memory, to keep the stack small).
    struct State {
        uint256 kb; // code offset of the key
        uint256 chunkLen; // L, from the key
        uint256 m;
        uint256 z;
        uint256 v;
        uint256 t;
        uint256 rSum;
        uint256 eSum;
        uint256 hSum;
        uint256[2] cS;
        uint256[2] cAcc;
    }

    /// The round's model hash keccak256(job || round || N || L || m || h_0..h_{m-1}) if the round
    /// passes; reverts with a named error otherwise.
    function checkRound(Round calldata rd) external view returns (bytes32) {
        State memory s;
        (s.kb,) = _key();
        s.chunkLen = chunkLen();
        _checkShape(rd);
        s.m = rd.evaluations.length;
        s.cS = _sumPoints(rd.points);
        s.z = challenge(rd, s.cS);
        s.v = _combinedValue(rd, s.z, s.chunkLen);
        _pairingCheck(rd, s);
        return keccak256(abi.encodePacked(rd.job, rd.round, rd.totalWeight, s.chunkLen, s.m, rd.digests));
    }

    /// z = keccak256(DOMAIN || chainid || ledger || job || round || L || m || B || N || C_S || rho
    /// || h_0..h_{m-1}) mod r, with ledger = msg.sender and B = m L.
    function challenge(Round calldata rd, uint256[2] memory cS) public view returns (uint256) {
        uint256 m = rd.evaluations.length;
        uint256 len = chunkLen();
        bytes memory head =
            abi.encodePacked(DOMAIN, block.chainid, uint256(uint160(msg.sender)), rd.job, rd.round, len, m, m * len);
        return uint256(keccak256(abi.encodePacked(head, rd.totalWeight, cS[0], cS[1], rd.rho, rd.digests))) % R;
    }

    /// The hash a client posts before the deadline instead of its point (commit-then-reveal):
    /// keccak256(tag || chainid || ledger || job || round || slot || x || y), tag "zkagg/E/v1"
    /// for a mask commitment E_u (mask = true) or "zkagg/C/v1" for C_u; ledger = msg.sender.
    function pointHash(bool mask, bytes32 job, uint256 round, uint256 slot, uint256[2] calldata point)
        external
        view
        returns (bytes32)
    {
        bytes32 tag = mask ? bytes32("zkagg/E/v1") : bytes32("zkagg/C/v1");
        return keccak256(
            abi.encodePacked(tag, block.chainid, uint256(uint160(msg.sender)), job, round, slot, point[0], point[1])
        );
    }

    // ---- steps ------------------------------------------------------------------------------

    function _checkShape(Round calldata rd) private pure {
        uint256 m = rd.evaluations.length;
        if (m == 0 || rd.digests.length != m) revert WrongLength(LEN_CHUNKS, m, rd.digests.length);
        if (rd.proofs.length != 8 * m) revert WrongLength(LEN_PROOFS, 8 * m, rd.proofs.length);
        if (rd.points.length == 0 || rd.points.length % 2 != 0) revert WrongLength(LEN_POINTS, 2, rd.points.length);
        if (rd.rho >= R) revert ScalarNotInField(IN_RHO, 0);
        if (rd.totalWeight >= R) revert ScalarNotInField(IN_WEIGHT, 0);
        for (uint256 j = 0; j < m; j++) {
            if (rd.evaluations[j] >= R) revert ScalarNotInField(IN_EVALUATION, j);
            if (rd.digests[j] >= R) revert ScalarNotInField(IN_DIGEST, j);
            uint256 o = 8 * j;
            if (!_onCurveG1(rd.proofs[o], rd.proofs[o + 1]) || !_onCurveG1(rd.proofs[o + 6], rd.proofs[o + 7])) {
                revert InvalidPoint(PT_PROOF, j);
            }
            if (!_onTwist(rd.proofs[o + 3], rd.proofs[o + 2], rd.proofs[o + 5], rd.proofs[o + 4])) {
                revert InvalidPoint(PT_PROOF, j);
            }
        }
        if (!_onCurveG1(rd.opening[0], rd.opening[1])) revert InvalidPoint(PT_OPENING, 0);
    }

    function _sumPoints(uint256[] calldata points) private view returns (uint256[2] memory acc) {
        for (uint256 i = 0; i < points.length; i += 2) {
            if (!_onCurveG1(points[i], points[i + 1])) revert InvalidPoint(PT_REVEALED, i / 2);
            acc = _add(acc, [points[i], points[i + 1]]);
        }
    }

    /// v = sum_j z^(jL) e_j + rho z^(mL)
    function _combinedValue(Round calldata rd, uint256 z, uint256 len) private pure returns (uint256 v) {
        uint256 w = _pow(z, len);
        uint256 m = rd.evaluations.length;
        for (uint256 j = m; j > 0; j--) {
            v = addmod(mulmod(v, w, R), rd.evaluations[j - 1], R);
        }
        v = addmod(v, mulmod(rd.rho, _pow(w, m), R), R);
    }

    /// r_0 = 1, r_j and t 128-bit from keccak over z, C_S, rho, pi and every (A, B, C, e_j).
    function _seed(Round calldata rd, uint256[2] memory cS, uint256 z) private pure returns (bytes32) {
        uint256 m = rd.evaluations.length;
        bytes memory buf = new bytes(32 * (6 + 9 * m));
        uint256 p;
        assembly {
            p := add(buf, 32)
        }
        uint256[6] memory head = [z, cS[0], cS[1], rd.rho, rd.opening[0], rd.opening[1]];
        assembly {
            mcopy(p, head, 192)
        }
        uint256 off;
        uint256 eOff;
        bytes32 out;
        {
            uint256[] calldata pr = rd.proofs;
            uint256[] calldata ev = rd.evaluations;
            assembly {
                off := pr.offset
                eOff := ev.offset
            }
        }
        assembly {
            for { let j := 0 } lt(j, m) { j := add(j, 1) } {
                let dst := add(add(p, 192), mul(j, 288))
                calldatacopy(dst, add(off, mul(j, 256)), 256)
                mstore(add(dst, 256), calldataload(add(eOff, mul(j, 32))))
            }
            out := keccak256(p, mul(32, add(6, mul(9, m))))
        }
        return out;
    }

    function _coeff(bytes32 seed, uint256 i) private pure returns (uint256) {
        return (uint256(keccak256(abi.encodePacked(seed, i))) >> 128) | 1;
    }

    function _pairingCheck(Round calldata rd, State memory s) private view {
        bytes32 seed = _seed(rd, s.cS, s.z);
        s.t = _coeff(seed, s.m);
        bool unitGamma = _gammaIsGenerator(s.kb);
        uint256 nPairs = s.m + (unitGamma ? 4 : 5);
        uint256[] memory pairs = new uint256[](6 * nPairs);
        for (uint256 j = 0; j < s.m; j++) {
            uint256 r = j == 0 ? 1 : _coeff(seed, j);
            uint256 o = 8 * j;
            uint256[2] memory a = _mul([rd.proofs[o], rd.proofs[o + 1]], r);
            pairs[6 * j] = a[0];
            pairs[6 * j + 1] = a[1] == 0 ? 0 : Q - a[1];
            pairs[6 * j + 2] = rd.proofs[o + 2];
            pairs[6 * j + 3] = rd.proofs[o + 3];
            pairs[6 * j + 4] = rd.proofs[o + 4];
            pairs[6 * j + 5] = rd.proofs[o + 5];
            s.cAcc = _add(s.cAcc, _mul([rd.proofs[o + 6], rd.proofs[o + 7]], r));
            s.rSum = addmod(s.rSum, r, R);
            s.eSum = addmod(s.eSum, mulmod(r, rd.evaluations[j], R), R);
            s.hSum = addmod(s.hSum, mulmod(r, rd.digests[j], R), R);
        }
        _stageTail(rd, s, pairs, unitGamma);
        _pairing(pairs, nPairs);
    }

    /// The key and KZG pairs after the chunks' pairs.
    function _stageTail(Round calldata rd, State memory s, uint256[] memory pairs, bool unitGamma) private view {
        uint256 i = 6 * s.m;
        uint256 kb = s.kb;
        // (R alpha, beta)
        uint256[2] memory p = _mul(_keyG1(kb, 0), s.rSum);
        _put(pairs, i, p, kb, 2);
        // vk_x = R IC0 + R z IC1 + (sum r e) IC2 + (sum r h) IC3
        uint256[2] memory vkx = _mul(_keyG1(kb, 14), s.rSum);
        vkx = _add(vkx, _mul(_keyG1(kb, 16), mulmod(s.rSum, s.z, R)));
        vkx = _add(vkx, _mul(_keyG1(kb, 18), s.eSum));
        vkx = _add(vkx, _mul(_keyG1(kb, 20), s.hSum));
        // t (C_S - v G1 + z pi)
        uint256[2] memory kz = _add(s.cS, _mul([uint256(1), uint256(2)], s.v == 0 ? 0 : R - s.v));
        kz = _mul(_add(kz, _mul([rd.opening[0], rd.opening[1]], s.z)), s.t);
        if (unitGamma) {
            _put(pairs, i + 6, _add(vkx, kz), kb, 6);
            i += 12;
        } else {
            _put(pairs, i + 6, vkx, kb, 6);
            _putGenerator(pairs, i + 12, kz);
            i += 18;
        }
        _put(pairs, i, s.cAcc, kb, 10); // (sum r C, delta)
        uint256[2] memory tp = _mul([rd.opening[0], rd.opening[1]], s.t);
        tp[1] = tp[1] == 0 ? 0 : Q - tp[1];
        _put(pairs, i + 6, tp, kb, 22); // (-t pi, [tau]_2)
    }

    // ---- helpers ----------------------------------------------------------------------------

    /// Code offset of key word 0 (the key's word count is the last code word).
    function _key() internal view returns (uint256 base, uint256 words) {
        uint256 size;
        assembly {
            size := codesize()
            codecopy(0, sub(size, 32), 32)
            words := mload(0)
        }
        if (words != KEY_WORDS || 32 * (words + 1) > size) revert KeyMissing();
        base = size - 32 * (words + 1);
    }

    /// L: the chunk length of the attached key (1 <= L <= 2^32, else KeyMissing).
    function chunkLen() public view returns (uint256 len) {
        (uint256 kb,) = _key();
        assembly {
            codecopy(0, add(kb, mul(26, 32)), 32)
            len := mload(0)
        }
        if (len == 0 || len > MAX_CHUNK_LEN) revert KeyMissing();
    }

    /// The chunk key's words, then [tau]_2 and L (layout above), for auditors.
    function verifyingKey() external view returns (uint256[] memory key) {
        (uint256 kb, uint256 words) = _key();
        key = new uint256[](words);
        assembly {
            codecopy(add(key, 32), kb, mul(words, 32))
        }
    }

    function _keyG1(uint256 kb, uint256 word) private pure returns (uint256[2] memory p) {
        assembly {
            codecopy(p, add(kb, mul(word, 32)), 64)
        }
    }

    function _gammaIsGenerator(uint256 kb) private pure returns (bool) {
        uint256[4] memory g;
        assembly {
            codecopy(g, add(kb, 192), 128)
        }
        return g[0] == G2X1 && g[1] == G2X0 && g[2] == G2Y1 && g[3] == G2Y0;
    }

    /// pairs[i..i+6) = (p, key G2 point at `word`)
    function _put(uint256[] memory pairs, uint256 i, uint256[2] memory p, uint256 kb, uint256 word) private pure {
        pairs[i] = p[0];
        pairs[i + 1] = p[1];
        assembly {
            codecopy(add(pairs, mul(add(i, 3), 32)), add(kb, mul(word, 32)), 128)
        }
    }

    function _putGenerator(uint256[] memory pairs, uint256 i, uint256[2] memory p) private pure {
        pairs[i] = p[0];
        pairs[i + 1] = p[1];
        pairs[i + 2] = G2X1;
        pairs[i + 3] = G2X0;
        pairs[i + 4] = G2Y1;
        pairs[i + 5] = G2Y0;
    }

    function _pairing(uint256[] memory pairs, uint256 n) private view {
        bool ok;
        uint256 result;
        assembly {
            ok := staticcall(gas(), 8, add(pairs, 32), mul(n, 192), 0, 32)
            result := mload(0)
        }
        if (!ok) revert PointNotInSubgroup();
        if (result != 1) revert RoundRejected();
    }

    function _add(uint256[2] memory a, uint256[2] memory b) private view returns (uint256[2] memory out) {
        bool ok;
        assembly {
            let p := mload(0x40)
            mcopy(p, a, 64)
            mcopy(add(p, 64), b, 64)
            ok := staticcall(gas(), 6, p, 128, out, 64)
        }
        if (!ok) revert PrecompileFailed();
    }

    function _mul(uint256[2] memory a, uint256 k) private view returns (uint256[2] memory out) {
        if (k == 1) return a;
        bool ok;
        assembly {
            let p := mload(0x40)
            mcopy(p, a, 64)
            mstore(add(p, 64), k)
            ok := staticcall(gas(), 7, p, 96, out, 64)
        }
        if (!ok) revert PrecompileFailed();
    }

    function _pow(uint256 b, uint256 e) private pure returns (uint256 acc) {
        acc = 1;
        while (e != 0) {
            if (e & 1 == 1) acc = mulmod(acc, b, R);
            b = mulmod(b, b, R);
            e >>= 1;
        }
    }

    /// x, y < q and y^2 = x^3 + 3, or the point at infinity (0, 0).
    function _onCurveG1(uint256 x, uint256 y) private pure returns (bool) {
        if (x >= Q || y >= Q) return false;
        if (x == 0 && y == 0) return true;
        return mulmod(y, y, Q) == addmod(mulmod(mulmod(x, x, Q), x, Q), 3, Q);
    }

    /// y^2 = x^3 + b on the twist, x = x0 + x1 u, y = y0 + y1 u (subgroup: the precompile).
    function _onTwist(uint256 x0, uint256 x1, uint256 y0, uint256 y1) private pure returns (bool) {
        if (x0 >= Q || x1 >= Q || y0 >= Q || y1 >= Q) return false;
        if (x0 == 0 && x1 == 0 && y0 == 0 && y1 == 0) return true;
        (uint256 s0, uint256 s1) = _mul2(x0, x1, x0, x1);
        (s0, s1) = _mul2(s0, s1, x0, x1);
        (uint256 t0, uint256 t1) = _mul2(y0, y1, y0, y1);
        return t0 == addmod(s0, TWIST_B0, Q) && t1 == addmod(s1, TWIST_B1, Q);
    }

    function _mul2(uint256 a0, uint256 a1, uint256 b0, uint256 b1) private pure returns (uint256, uint256) {
        return (addmod(mulmod(a0, b0, Q), Q - mulmod(a1, b1, Q), Q), addmod(mulmod(a0, b1, Q), mulmod(a1, b0, Q), Q));
    }
}
