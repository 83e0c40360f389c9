// Known answers for zkagg.poseidon computed with circomlibjs 0.1.7 (no zkagg code involved).
//
//   npm install --prefix DIR circomlibjs@0.1.7
//   node tests/vectors/make_poseidon.mjs DIR > tests/vectors/poseidon.json
//   node tests/vectors/make_poseidon.mjs DIR --constants   # circomlibjs's (C, M), for a test to
//                                                          # compare with ours; never stored
//
// Every hash is computed by circomlibjs's three implementations (wasm, optimized JS, reference JS)
// and the script fails unless they agree. Inputs come from SHA-256 of a label, shifted to 253
// bits (below r), so the file is reproducible. The sponge is zkagg's (zkagg/poseidon/reference.py):
// state [L, 0, ...]; per block of t - 1 elements (last zero padded, at least one block)
// state = poseidon(state[1..] + block, state[0], t); the hash is state[0].

import { createHash } from "node:crypto";
import path from "node:path";
import { pathToFileURL } from "node:url";

const R = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;
const pkg = path.join(path.resolve(process.argv[2] || "."), "node_modules", "circomlibjs");
const load = async (file) => import(pathToFileURL(path.join(pkg, file)).href);

// exit only once the text is flushed: a piped stdout is written asynchronously
const emit = (text) => process.stdout.write(text, () => process.exit(0));

if (process.argv[3] === "--constants") {
    const { C, M } = (await load("src/poseidon_constants.js")).default;
    const hex = (x) => BigInt(x).toString(16);
    emit(JSON.stringify({ C: C.map((a) => a.map(hex)), M: M.map((m) => m.map((r) => r.map(hex))) }));
} else {
    emit(await vectors(await load("main.js")));
}

async function vectors(lib) {
    const impls = [await lib.buildPoseidon(), await lib.buildPoseidonOpt(), await lib.buildPoseidonReference()];
    const F = impls[0].F;

    // poseidon(inputs, initState, nOut) as BigInts, checked across the three implementations
    function poseidon(inputs, initState, nOut) {
        let first = null;
        for (const h of impls) {
            const raw = h(inputs, initState, nOut);
            const key = (nOut > 1 ? raw : [raw]).map((x) => F.toObject(x)).join(",");
            if (first === null) first = key;
            else if (key !== first) throw new Error(`circomlibjs implementations disagree on ${inputs}`);
        }
        return first.split(",").map(BigInt);
    }

    let counter = 0;
    function rand() {
        const digest = createHash("sha256").update(`zkagg-poseidon-vector-${counter++}`).digest("hex");
        return BigInt("0x" + digest) >> 3n; // 253 bits < r
    }
    const randoms = (n) => Array.from({ length: n }, rand);
    const str = (xs) => xs.map((x) => x.toString());

    const hash = [];
    for (let n = 1; n <= 16; n++) {
        const cases = [
            Array(n).fill(0n),
            Array(n).fill(1n),
            Array(n).fill(R - 1n),
            Array.from({ length: n }, (_, i) => [0n, 1n, R - 1n][i % 3]),
            randoms(n),
            randoms(n),
        ];
        for (const inputs of cases) hash.push({ inputs: str(inputs), out: poseidon(inputs, 0n, 1)[0].toString() });
    }

    const ex = [];
    for (let n = 1; n <= 16; n++) {
        const t = n + 1;
        for (const [init, nOut] of [[rand(), t], [R - 1n, 1], [BigInt(n), t]]) {
            const inputs = randoms(n);
            ex.push({ inputs: str(inputs), init_state: init.toString(), n_out: nOut, out: str(poseidon(inputs, init, nOut)) });
        }
    }

    function sponge(values, t) {
        const rate = t - 1;
        let state = [BigInt(values.length), ...Array(rate).fill(0n)];
        let start = 0;
        do {
            const block = values.slice(start, start + rate);
            const inputs = state.slice(1).map((s, i) => (s + (i < block.length ? block[i] : 0n)) % R);
            state = poseidon(inputs, state[0], t);
            start += rate;
        } while (start < values.length);
        return state[0];
    }

    const spongeCases = [];
    const plan = [
        [17, [0, 1, 15, 16, 17, 33, 100]],
        [3, [0, 1, 2, 3, 5, 10]],
        [9, [0, 8, 9, 20]],
        [2, [0, 1, 4]],
    ];
    for (const [width, lengths] of plan) {
        for (const len of lengths) {
            const values = randoms(len);
            if (len > 2) values[len - 1] = R - 1n; // an edge value in the padded last block
            spongeCases.push({ width, values: str(values), out: sponge(values, width).toString() });
        }
    }
    // all-zero vectors of several lengths: only the length prefix tells them apart
    for (const len of [0, 1, 16, 17]) {
        const zeros = Array(len).fill(0n);
        spongeCases.push({ width: 17, values: str(zeros), out: sponge(zeros, 17).toString() });
    }

    // one entry per line: compact, and a changed vector shows as one line in a diff
    const section = (name, entries) => `"${name}":[\n${entries.map((e) => JSON.stringify(e)).join(",\n")}\n]`;
    const about = "Poseidon (circomlib parameters) known answers from circomlibjs 0.1.7; see make_poseidon.mjs";
    return (
        `{"about":${JSON.stringify(about)},\n"modulus":"${R}",\n` +
        [section("hash", hash), section("ex", ex), section("sponge", spongeCases)].join(",\n") +
        "}\n"
    );
}
