// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// The part of a zkagg Groth16 verifier (Groth16Verifier.sol.tmpl) the ledger uses.
interface IGroth16Verifier {
    function nPublic() external view returns (uint256);

    function verifyBatch(
        uint256[] calldata proofs,
        uint256[2] calldata base,
        uint256[] calldata first,
        uint256[] calldata last
    ) external view returns (bool);

    function icCombination(uint256[2] calldata base, uint256[] calldata indices, uint256[] calldata scalars)
        external
        view
        returns (uint256[2] memory);

    function icSubsetSum(uint256 offset, uint256 bitmap) external view returns (uint256[2] memory);
}

/// The v2 acceptance check (RoundCheckV2.sol): the chunk key, [tau]_2 and L live in its code.
interface IRoundCheckV2 {
    struct Round {
        bytes32 job;
        uint256 round;
        uint256 totalWeight;
        uint256[] points;
        uint256 rho;
        uint256[2] opening;
        uint256[] proofs;
        uint256[] evaluations;
        uint256[] digests;
    }

    function chunkLen() external view returns (uint256);

    function checkRound(Round calldata rd) external view returns (bytes32);
}

/// @title zkagg job ledger: secure-aggregation rounds fixed on-chain, aggregates accepted with proofs
/// @notice One contract holds many jobs. Per round: the aggregator posts the mask set M (retries
/// shrink it), each member posts its mask commitment e_u, then (masking final) each member posts
/// its submission c_u with its weight w_u before the deadline; closing fixes the survivors U and
/// the dropped D = M \ U. A round's aggregate is accepted only with valid chunk proofs whose
/// public inputs the ledger rebuilds from its own records:
///   (context_j, a_1..a_n, w_1..w_n, output_j), a_k = c_k (U), e_k (D), the job's empty commitment
///   otherwise, w_k = 0 outside U, context_j = (sha256(jobId || uint64 round) >> 35) << 32 | j.
/// The slot part of vk_x, sum_k a_k IC[1+k] + w_k IC[1+n+k] (IC indices counted from the constant
/// term), is folded into an accumulator as the round goes, so acceptance needs only the chunk
/// index and output terms. Events carry everything an auditor needs to replay a job.
/// A round's reward is reserved from the job's pool when the round opens (so acceptance does not
/// touch the pool) and returned to it if the round is abandoned, when the next round opens; the
/// reward of a round without survivors and the rounding remainder (reward mod N) return at close.
/// The owner may end a job for good and take back what no round has booked (`endJob`).
/// Fairness: a phase closes early only once every member has acted; otherwise at its deadline
/// (then anyone may close it), so the aggregator cannot shut out a client that is on time.
/// Rounds open in increasing order and skip at most MAX_ROUND_SKIP numbers.
/// v2 jobs (`createJobV2`, aggregation v2): e_u and c_u are digests of hidden KZG points,
/// uint256(keccak256(tag || chainid || this || job || round || slot || x || y)) mod r with tag
/// "zkagg/E/v1" or "zkagg/C/v1"; `acceptRoundV2` takes the revealed points, checks each against
/// the digest its owner posted (C_u for the ledger's U, E_u for its D), and has the job's
/// RoundCheckV2 check the round with the N this ledger summed. No accumulator is kept.
contract JobLedger {
    uint256 internal constant R = 21888242871839275222246405745257275088548364400416034343698204186575808495617;
    uint256 internal constant Q = 21888242871839275222246405745257275088696311157297823662689037894645226208583;
    uint256 public constant MAX_SLOTS = 256; // members are kept as one 256-bit bitmap
    // Rounds may skip numbers (a round the aggregator gave up before opening it on-chain), but
    // only a few: nobody can push the job's round counter to its end.
    uint256 public constant MAX_ROUND_SKIP = 1024;

    enum Phase {
        None,
        Masking, // an attempt's mask commitments are open
        MaskingClosed, // the attempt closed with missing commitments: a retry must follow
        Submitting, // masking is final; submissions are open
        Closed, // U and D are fixed
        Accepted // the aggregate is proved; the model hash is stored
    }

    struct JobParams {
        uint16 slots; // n client slots
        uint48 maxWeight;
        uint16 chunks; // chunk proofs per round
        address verifier; // the job's Groth16 verifier (2n + 2 public inputs)
        uint256 emptyCommitment; // a_k of a slot outside the mask set
        uint32 maskWindow; // seconds for mask commitments after a mask set (> 0)
        uint32 submitWindow; // seconds for submissions once masking is final (> 0)
        uint128 rewardPerRound; // wei booked to the survivors of each accepted round
    }

    struct Job {
        // what submissions and acceptance read, in one storage slot (a job exists iff verifier != 0)
        address verifier;
        uint16 slots;
        uint16 chunks;
        uint48 maxWeight;
        bool openAggregation; // no aggregator list: any account may aggregate
        bool v2; // verifier is a RoundCheckV2: KZG point digests, acceptRoundV2
        // the rest
        address owner;
        uint32 maskWindow;
        uint32 submitWindow;
        bool ended; // the owner ended the job: no round opens any more
        uint128 rewardPerRound;
        uint128 pool; // wei not reserved by a round
        uint64 nextRound; // rounds open in increasing order
        uint256 emptyCommitment;
        uint256[2] emptyAcc; // IC[0] + emptyCommitment * sum_k IC[2 + k]: an all-empty round
    }

    struct Round {
        Phase phase;
        uint16 attempt; // each retry removes a member: at most MAX_SLOTS retries
        uint40 deadline; // of the open phase (0: none)
        uint64 totalWeight; // N = sum of the survivors' weights
        uint88 reward; // wei reserved for (once accepted: booked to) this round's survivors
        uint40 openedAt; // block number of attempt 0: where a reader starts looking for its events
        uint256 members; // bitmap of the current mask set
        uint256 pending; // members yet to commit (masking), to submit (submitting); D once closed
        // The accumulator, then (accepted) [model hash, 0]: reusing the slot saves ~20k gas.
        uint256[2] acc;
    }

    mapping(bytes32 => Job) internal jobs;
    mapping(bytes32 => mapping(address => bool)) public isAggregator;
    mapping(bytes32 => mapping(uint256 => address)) public accountOf;
    mapping(bytes32 => mapping(address => uint256)) internal slotPlusOne;
    mapping(bytes32 => mapping(uint64 => Round)) internal rounds;
    mapping(bytes32 => mapping(uint64 => mapping(uint256 => uint256))) internal maskCommitments;
    // weight | withdrawn << 64 (zero: did not submit)
    mapping(bytes32 => mapping(uint64 => mapping(uint256 => uint256))) internal submissions;
    // v2: the survivors' digests of C_u (v1 folds c_u into the accumulator instead)
    mapping(bytes32 => mapping(uint64 => mapping(uint256 => uint256))) internal inputDigests;

    error UnknownJob(bytes32 jobId);
    error JobExists(bytes32 jobId);
    error InvalidJobParameter(string name);
    error VerifierMismatch(uint256 expectedInputs, uint256 got);
    error NotJobOwner(address account);
    error NotAggregator(address account);
    error SlotOutOfRange(uint256 slot);
    error SlotTaken(uint256 slot);
    error AlreadyEnrolled(address account);
    error UnknownClient(address account);
    error SlotNotEnrolled(uint256 slot);
    error WrongRound(uint64 round, uint64 next);
    error MaskingFinal(uint64 round);
    error WrongAttempt(uint32 attempt, uint32 expected);
    error MaskingStillOpen(uint64 round, uint32 attempt);
    error InvalidMembers();
    error InvalidRetry();
    error MaskingNotOpen(uint64 round, uint32 attempt);
    error NotInMaskSet(uint256 slot);
    error AlreadyCommitted(uint256 slot);
    error DigestNotInField(uint256 digest);
    error SubmissionsNotOpen(uint64 round);
    error AlreadySubmitted(uint256 slot);
    error InvalidWeight(uint256 weight, uint256 maxWeight);
    error Late(uint256 deadline);
    error RoundNotClosed(uint64 round);
    error RoundAlreadyAccepted(uint64 round);
    error WrongChunkCount(uint256 expected, uint256 got);
    error RoundNotAccepted(uint64 round);
    error NotASurvivor(uint256 slot);
    error RewardAlreadyWithdrawn(uint256 slot);
    error TransferFailed();
    error TooEarly(uint256 deadline);
    error JobEnded(bytes32 jobId);
    error PrecompileFailed();
    error WrongProtocol(bytes32 jobId, bool v2);
    error WrongPointCount(uint256 expected, uint256 got);
    error RevealedPointMismatch(uint256 slot, bool dropped);

    event JobCreated(
        bytes32 indexed jobId,
        address indexed owner,
        JobParams params,
        uint256 pool,
        address[] aggregators
    );
    event ClientEnrolled(bytes32 indexed jobId, uint256 slot, address account);
    event MaskSetPosted(bytes32 indexed jobId, uint64 indexed round, uint32 attempt, uint256 members);
    event MaskCommitted(bytes32 indexed jobId, uint64 indexed round, uint32 attempt, uint256 slot, uint256 digest);
    event MaskingClosed(bytes32 indexed jobId, uint64 indexed round, uint32 attempt, bool isFinal, uint256 committed);
    event Submitted(bytes32 indexed jobId, uint64 indexed round, uint256 slot, uint256 digest, uint256 weight);
    event SubmissionsClosed(
        bytes32 indexed jobId, uint64 indexed round, uint256 survivors, uint256 dropped, uint256 totalWeight
    );
    event RoundAccepted(bytes32 indexed jobId, uint64 indexed round, bytes32 modelHash, uint256[] outputs);
    event RewardWithdrawn(bytes32 indexed jobId, uint64 indexed round, uint256 slot, address account, uint256 amount);
    event RewardReturned(bytes32 indexed jobId, uint64 indexed round, uint256 amount);
    event JobEnd(bytes32 indexed jobId, uint256 refund);

    // ---- jobs ---------------------------------------------------------------------------------

    /// Create a job; msg.value is its reward pool. An empty aggregator list lets anyone aggregate.
    function createJob(bytes32 jobId, JobParams calldata p, address[] calldata aggregators) external payable {
        _checkParams(jobId, p);
        uint256 expected = 2 * uint256(p.slots) + 2;
        uint256 got = IGroth16Verifier(p.verifier).nPublic();
        if (got != expected) revert VerifierMismatch(expected, got);
        Job storage job = _newJob(jobId, p, aggregators);
        job.emptyCommitment = p.emptyCommitment;
        IGroth16Verifier verifier = IGroth16Verifier(p.verifier);
        uint256[2] memory all = verifier.icSubsetSum(2, _bits(p.slots));
        job.emptyAcc = _ecAdd(verifier.icSubsetSum(0, 1), _ecMul(all, p.emptyCommitment));
        emit JobCreated(jobId, msg.sender, p, msg.value, aggregators);
    }

    /// Create a v2 job: p.verifier is a RoundCheckV2 (its code holds the chunk key, [tau]_2 and
    /// L), p.chunks the round's m, p.emptyCommitment unused (0).
    function createJobV2(bytes32 jobId, JobParams calldata p, address[] calldata aggregators) external payable {
        _checkParams(jobId, p);
        if (p.emptyCommitment != 0) revert InvalidJobParameter("emptyCommitment");
        if (IRoundCheckV2(p.verifier).chunkLen() == 0) revert InvalidJobParameter("verifier");
        Job storage job = _newJob(jobId, p, aggregators);
        job.v2 = true;
        emit JobCreated(jobId, msg.sender, p, msg.value, aggregators);
    }

    function _checkParams(bytes32 jobId, JobParams calldata p) internal view {
        if (jobId == bytes32(0)) revert InvalidJobParameter("jobId");
        if (jobs[jobId].verifier != address(0)) revert JobExists(jobId);
        if (p.slots == 0 || p.slots > MAX_SLOTS) revert InvalidJobParameter("slots");
        if (p.maxWeight == 0) revert InvalidJobParameter("maxWeight");
        if (p.chunks == 0) revert InvalidJobParameter("chunks");
        if (p.maskWindow == 0) revert InvalidJobParameter("maskWindow");
        if (p.submitWindow == 0) revert InvalidJobParameter("submitWindow");
        if (p.emptyCommitment >= R) revert DigestNotInField(p.emptyCommitment);
        if (msg.value > type(uint128).max) revert InvalidJobParameter("pool");
        if (p.verifier.code.length == 0) revert InvalidJobParameter("verifier");
    }

    function _newJob(bytes32 jobId, JobParams calldata p, address[] calldata aggregators)
        internal
        returns (Job storage job)
    {
        job = jobs[jobId];
        job.verifier = p.verifier;
        job.slots = p.slots;
        job.maxWeight = p.maxWeight;
        job.owner = msg.sender;
        job.chunks = p.chunks;
        job.maskWindow = p.maskWindow;
        job.submitWindow = p.submitWindow;
        job.openAggregation = aggregators.length == 0;
        job.rewardPerRound = p.rewardPerRound;
        job.pool = uint128(msg.value);
        for (uint256 i = 0; i < aggregators.length; i++) {
            isAggregator[jobId][aggregators[i]] = true;
        }
    }

    /// The job owner binds a client slot to the account that will post for it.
    function enroll(bytes32 jobId, uint256 slot, address account) external {
        Job storage job = _job(jobId);
        if (msg.sender != job.owner) revert NotJobOwner(msg.sender);
        if (slot >= job.slots) revert SlotOutOfRange(slot);
        if (accountOf[jobId][slot] != address(0)) revert SlotTaken(slot);
        if (account == address(0) || slotPlusOne[jobId][account] != 0) revert AlreadyEnrolled(account);
        accountOf[jobId][slot] = account;
        slotPlusOne[jobId][account] = slot + 1;
        emit ClientEnrolled(jobId, slot, account);
    }

    // ---- masking ------------------------------------------------------------------------------

    /// Attempt 0 opens the round; each retry removes at least one member and adds none.
    function postMaskSet(bytes32 jobId, uint64 round, uint32 attempt, uint16[] calldata members) external {
        Job storage job = _job(jobId);
        _onlyAggregator(jobId, job);
        Round storage rd = rounds[jobId][round];
        if (rd.phase >= Phase.Submitting) revert MaskingFinal(round);
        uint32 expected = rd.phase == Phase.None ? 0 : uint32(rd.attempt) + 1;
        if (attempt != expected) revert WrongAttempt(attempt, expected);
        if (attempt > 0 && rd.phase != Phase.MaskingClosed) revert MaskingStillOpen(round, rd.attempt);
        uint256 bitmap;
        for (uint256 i = 0; i < members.length; i++) {
            uint256 slot = members[i];
            if (slot >= job.slots || (bitmap >> slot) & 1 == 1) revert InvalidMembers();
            if (accountOf[jobId][slot] == address(0)) revert SlotNotEnrolled(slot);
            bitmap |= 1 << slot;
        }
        if (attempt == 0) {
            if (job.ended) revert JobEnded(jobId);
            if (round < job.nextRound || uint256(round) > uint256(job.nextRound) + MAX_ROUND_SKIP) {
                revert WrongRound(round, job.nextRound);
            }
            _reserveReward(jobId, job, rd);
            job.nextRound = round + 1;
            rd.openedAt = uint40(block.number);
            if (!job.v2) {
                // the context's constant part and the empty slots, folded in once per round
                uint256[] memory idx = new uint256[](1);
                uint256[] memory sc = new uint256[](1);
                idx[0] = 1;
                sc[0] = _contextBase(jobId, round);
                rd.acc = IGroth16Verifier(job.verifier).icCombination(job.emptyAcc, idx, sc);
            }
        } else if (bitmap & ~rd.members != 0 || bitmap == rd.members) {
            revert InvalidRetry();
        }
        rd.phase = Phase.Masking;
        rd.attempt = uint16(attempt);
        rd.members = bitmap;
        rd.pending = bitmap;
        rd.deadline = _deadline(job.maskWindow);
        emit MaskSetPosted(jobId, round, attempt, bitmap);
    }

    /// A member of the open attempt's mask set posts e_u = H(T_u) from its own account.
    function postMaskCommitment(bytes32 jobId, uint64 round, uint32 attempt, uint256 digest) external {
        _job(jobId);
        uint256 slot = _slotOf(jobId);
        Round storage rd = rounds[jobId][round];
        if (rd.phase != Phase.Masking || attempt != rd.attempt) revert MaskingNotOpen(round, attempt);
        _checkDeadline(rd.deadline);
        uint256 bit = 1 << slot;
        if (rd.members & bit == 0) revert NotInMaskSet(slot);
        if (rd.pending & bit == 0) revert AlreadyCommitted(slot);
        if (digest >= R) revert DigestNotInField(digest);
        maskCommitments[jobId][round][slot] = digest;
        rd.pending &= ~bit;
        emit MaskCommitted(jobId, round, attempt, slot, digest);
    }

    /// End an attempt: early only once every member committed, else after the deadline (then by
    /// anyone). Masking is final when every member committed; otherwise a smaller retry must follow.
    function closeMasking(bytes32 jobId, uint64 round, uint32 attempt) external {
        Job storage job = _job(jobId);
        Round storage rd = rounds[jobId][round];
        if (rd.phase != Phase.Masking || attempt != rd.attempt) revert MaskingNotOpen(round, attempt);
        _checkClosable(jobId, job, rd);
        bool isFinal = rd.pending == 0;
        uint256 committed = rd.members & ~rd.pending;
        if (isFinal) {
            rd.phase = Phase.Submitting;
            rd.pending = rd.members;
            rd.deadline = _deadline(job.submitWindow);
        } else {
            rd.phase = Phase.MaskingClosed;
        }
        emit MaskingClosed(jobId, round, attempt, isFinal, committed);
    }

    // ---- submissions --------------------------------------------------------------------------

    /// A member of the final mask set posts c_u = H(y_u) and its weight from its own account.
    function submit(bytes32 jobId, uint64 round, uint256 digest, uint256 weight) external {
        Job storage job = _job(jobId);
        uint256 slot = _slotOf(jobId);
        Round storage rd = rounds[jobId][round];
        if (rd.phase != Phase.Submitting) revert SubmissionsNotOpen(round);
        _checkDeadline(rd.deadline);
        uint256 bit = 1 << slot;
        if (rd.pending & bit == 0) {
            if (rd.members & bit == 0) revert NotInMaskSet(slot);
            revert AlreadySubmitted(slot);
        }
        if (digest >= R) revert DigestNotInField(digest);
        if (weight == 0 || weight > job.maxWeight) revert InvalidWeight(weight, job.maxWeight);
        submissions[jobId][round][slot] = weight;
        rd.pending &= ~bit;
        rd.totalWeight += uint64(weight);
        if (job.v2) {
            inputDigests[jobId][round][slot] = digest;
            emit Submitted(jobId, round, slot, digest, weight);
            return;
        }
        uint256[] memory idx = new uint256[](2);
        uint256[] memory sc = new uint256[](2);
        (idx[0], idx[1]) = (2 + slot, 2 + job.slots + slot);
        (sc[0], sc[1]) = (digest, weight);
        rd.acc = IGroth16Verifier(job.verifier).icCombination(rd.acc, idx, sc);
        emit Submitted(jobId, round, slot, digest, weight);
    }

    /// Fix U and D: early only once every member submitted, else after the deadline (then by
    /// anyone). A round without survivors returns its reward to the pool. The members' empty
    /// commitments in the accumulator become e_u for the dropped and nothing for the survivors
    /// (their c_u was added when they submitted).
    function closeSubmissions(bytes32 jobId, uint64 round) external {
        Job storage job = _job(jobId);
        Round storage rd = rounds[jobId][round];
        if (rd.phase != Phase.Submitting) revert SubmissionsNotOpen(round);
        _checkClosable(jobId, job, rd);
        uint256 dropped = rd.pending;
        if (!job.v2) _closeAccumulator(jobId, job, rd, round, dropped);
        rd.phase = Phase.Closed;
        rd.deadline = 0;
        // Book only a multiple of N: reward * w_u / N is then exact for every survivor, and the
        // remainder (all of it without survivors) goes back to the pool instead of being locked.
        uint256 back = rd.totalWeight == 0 ? rd.reward : rd.reward % rd.totalWeight;
        if (back != 0) {
            rd.reward -= uint88(back);
            job.pool += uint128(back);
            emit RewardReturned(jobId, round, back);
        }
        emit SubmissionsClosed(jobId, round, rd.members & ~dropped, dropped, rd.totalWeight);
    }

    function _closeAccumulator(bytes32 jobId, Job storage job, Round storage rd, uint64 round, uint256 dropped)
        internal
    {
        uint256 nDropped;
        for (uint256 b = dropped; b != 0; b &= b - 1) nDropped++;
        uint256[] memory idx = new uint256[](nDropped);
        uint256[] memory sc = new uint256[](nDropped);
        uint256 i;
        for (uint256 slot = 0; i < nDropped; slot++) {
            if ((dropped >> slot) & 1 == 1) {
                (idx[i], sc[i]) = (2 + slot, maskCommitments[jobId][round][slot]);
                i++;
            }
        }
        IGroth16Verifier verifier = IGroth16Verifier(job.verifier);
        uint256[2] memory acc = verifier.icCombination(rd.acc, idx, sc);
        if (rd.members != 0 && job.emptyCommitment != 0) {
            uint256[2] memory inM = verifier.icSubsetSum(2, rd.members);
            acc = _ecAdd(acc, _ecMul(inM, R - job.emptyCommitment));
        }
        rd.acc = acc;
    }

    // ---- acceptance ---------------------------------------------------------------------------

    /// Accept a closed round's aggregate: `proofs` holds the chunk proofs (eight words each,
    /// EIP-197 encoding) and `outputs` the chunk outputs. The model hash sha256(outputs) is
    /// stored and the round's reward is booked to its survivors.
    function acceptRound(bytes32 jobId, uint64 round, uint256[] calldata proofs, uint256[] calldata outputs)
        external
        returns (bytes32 modelHash)
    {
        Job storage job = _job(jobId);
        _onlyAggregator(jobId, job);
        Round storage rd = rounds[jobId][round];
        if (job.v2) revert WrongProtocol(jobId, true);
        if (rd.phase == Phase.Accepted) revert RoundAlreadyAccepted(round);
        if (rd.phase != Phase.Closed) revert RoundNotClosed(round);
        uint256 m = job.chunks;
        if (outputs.length != m) revert WrongChunkCount(m, outputs.length);
        if (proofs.length != 8 * m) revert WrongChunkCount(8 * m, proofs.length);
        // the context's constant part is in the accumulator: the first input left is the chunk index
        uint256[] memory chunkIndex = new uint256[](m);
        for (uint256 j = 0; j < m; j++) {
            chunkIndex[j] = j;
        }
        IGroth16Verifier(job.verifier).verifyBatch(proofs, rd.acc, chunkIndex, outputs);
        modelHash = sha256(abi.encodePacked(outputs));
        rd.phase = Phase.Accepted;
        rd.acc = [uint256(modelHash), 0];
        emit RoundAccepted(jobId, round, modelHash, outputs);
    }

    /// What a v2 acceptance carries besides the job and round.
    struct RoundV2 {
        uint256[] points; // 2 words per member of the final mask set, by increasing slot
        uint256 rho;
        uint256[2] opening; // pi
        uint256[] proofs; // 8 words per chunk
        uint256[] evaluations; // e_j
        uint256[] digests; // h_j
    }

    /// Accept a closed v2 round: every member's revealed point (C_u for a survivor, E_u for a
    /// dropped client, by this ledger's own U/D) must hash to the digest it posted; the job's
    /// RoundCheckV2 then checks the round with this ledger's N and returns the model hash
    /// keccak256(job || round || N || L || m || h_0..h_{m-1}), which is stored.
    function acceptRoundV2(bytes32 jobId, uint64 round, RoundV2 calldata a) external returns (bytes32 modelHash) {
        Job storage job = _job(jobId);
        _onlyAggregator(jobId, job);
        Round storage rd = rounds[jobId][round];
        if (!job.v2) revert WrongProtocol(jobId, false);
        if (rd.phase == Phase.Accepted) revert RoundAlreadyAccepted(round);
        if (rd.phase != Phase.Closed) revert RoundNotClosed(round);
        if (a.evaluations.length != job.chunks) revert WrongChunkCount(job.chunks, a.evaluations.length);
        uint256 members = rd.members;
        uint256 count;
        for (uint256 b = members; b != 0; b &= b - 1) count++;
        if (a.points.length != 2 * count) revert WrongPointCount(2 * count, a.points.length);
        _checkReveals(jobId, round, members, rd.pending, a.points);
        modelHash = IRoundCheckV2(job.verifier).checkRound(
            IRoundCheckV2.Round(
                jobId, round, rd.totalWeight, a.points, a.rho, a.opening, a.proofs, a.evaluations, a.digests
            )
        );
        rd.phase = Phase.Accepted;
        rd.acc = [uint256(modelHash), 0];
        emit RoundAccepted(jobId, round, modelHash, a.digests);
    }

    function _checkReveals(bytes32 jobId, uint64 round, uint256 members, uint256 dropped, uint256[] calldata points)
        internal
        view
    {
        uint256 i;
        for (uint256 slot = 0; members >> slot != 0; slot++) {
            if ((members >> slot) & 1 == 0) continue;
            bool isDropped = (dropped >> slot) & 1 == 1;
            uint256 posted = isDropped ? maskCommitments[jobId][round][slot] : inputDigests[jobId][round][slot];
            bytes32 tag = isDropped ? bytes32("zkagg/E/v1") : bytes32("zkagg/C/v1");
            uint256 h = uint256(
                keccak256(
                    abi.encodePacked(
                        tag,
                        block.chainid,
                        uint256(uint160(address(this))),
                        jobId,
                        uint256(round),
                        slot,
                        points[i],
                        points[i + 1]
                    )
                )
            ) % R;
            if (h != posted) revert RevealedPointMismatch(slot, isDropped);
            i += 2;
        }
    }

    /// A survivor of an accepted round takes its share of the round's reward: reward * w_u / N.
    function withdrawReward(bytes32 jobId, uint64 round) external {
        _job(jobId);
        uint256 slot = _slotOf(jobId);
        Round storage rd = rounds[jobId][round];
        if (rd.phase != Phase.Accepted) revert RoundNotAccepted(round);
        uint256 entry = submissions[jobId][round][slot];
        if (entry == 0) revert NotASurvivor(slot);
        if (entry >> 64 != 0) revert RewardAlreadyWithdrawn(slot);
        submissions[jobId][round][slot] = entry | (1 << 64);
        uint256 amount = (uint256(rd.reward) * uint64(entry)) / rd.totalWeight;
        (bool ok,) = msg.sender.call{value: amount}("");
        if (!ok) revert TransferFailed();
        emit RewardWithdrawn(jobId, round, slot, msg.sender, amount);
    }

    /// The owner ends the job for good: no round opens any more, and the unreserved pool plus
    /// the reserve of the last round, if it was not accepted, go back to the owner.
    function endJob(bytes32 jobId) external {
        Job storage job = _job(jobId);
        if (msg.sender != job.owner) revert NotJobOwner(msg.sender);
        if (job.ended) revert JobEnded(jobId);
        uint256 refund = job.pool;
        if (job.nextRound != 0) {
            Round storage last = rounds[jobId][job.nextRound - 1];
            if (last.phase != Phase.Accepted) {
                refund += last.reward;
                last.reward = 0;
            }
        }
        job.pool = 0;
        job.ended = true;
        emit JobEnd(jobId, refund);
        if (refund != 0) {
            (bool ok,) = msg.sender.call{value: refund}("");
            if (!ok) revert TransferFailed();
        }
    }

    // ---- views --------------------------------------------------------------------------------

    function jobInfo(bytes32 jobId)
        external
        view
        returns (JobParams memory p, address owner, bool openAggregation, uint64 nextRound, uint128 pool)
    {
        Job storage job = _job(jobId);
        p = JobParams(
            job.slots,
            job.maxWeight,
            job.chunks,
            job.verifier,
            job.emptyCommitment,
            job.maskWindow,
            job.submitWindow,
            job.rewardPerRound
        );
        return (p, job.owner, job.openAggregation, job.nextRound, job.pool);
    }

    function roundInfo(bytes32 jobId, uint64 round)
        external
        view
        returns (
            Phase phase,
            uint16 attempt,
            uint40 deadline,
            uint64 totalWeight,
            uint256 members,
            uint256 pending,
            bytes32 modelHash,
            uint256 reward,
            uint256 openedAt
        )
    {
        _job(jobId);
        Round storage rd = rounds[jobId][round];
        modelHash = rd.phase == Phase.Accepted ? bytes32(rd.acc[0]) : bytes32(0);
        return (
            rd.phase, rd.attempt, rd.deadline, rd.totalWeight, rd.members, rd.pending, modelHash, rd.reward, rd.openedAt
        );
    }

    /// e_u as last posted for the round (valid for the current attempt's committed members).
    function maskCommitment(bytes32 jobId, uint64 round, uint256 slot) external view returns (uint256) {
        return maskCommitments[jobId][round][slot];
    }

    /// The weight a client submitted (0: none) and whether it withdrew its reward.
    function submission(bytes32 jobId, uint64 round, uint256 slot) external view returns (uint256, bool) {
        uint256 entry = submissions[jobId][round][slot];
        return (uint64(entry), entry >> 64 != 0);
    }

    /// The chunk circuit's first public input.
    function context(bytes32 jobId, uint64 round, uint32 chunk) external pure returns (uint256) {
        return _contextBase(jobId, round) | chunk;
    }

    // ---- internals ----------------------------------------------------------------------------

    function _job(bytes32 jobId) internal view returns (Job storage job) {
        job = jobs[jobId];
        if (job.verifier == address(0)) revert UnknownJob(jobId);
    }

    function _slotOf(bytes32 jobId) internal view returns (uint256) {
        uint256 s = slotPlusOne[jobId][msg.sender];
        if (s == 0) revert UnknownClient(msg.sender);
        return s - 1;
    }

    function _onlyAggregator(bytes32 jobId, Job storage job) internal view {
        if (!job.openAggregation && !isAggregator[jobId][msg.sender]) revert NotAggregator(msg.sender);
    }

    /// Before the deadline a phase may close only once every member has acted (and then only by
    /// the aggregator); after it, anyone may close it.
    function _checkClosable(bytes32 jobId, Job storage job, Round storage rd) internal view {
        if (block.timestamp > rd.deadline) return;
        if (rd.pending != 0) revert TooEarly(rd.deadline);
        _onlyAggregator(jobId, job);
    }

    function _checkDeadline(uint40 deadline) internal view {
        if (block.timestamp > deadline) revert Late(deadline);
    }

    function _deadline(uint32 window) internal view returns (uint40) {
        return uint40(block.timestamp + window);
    }

    /// Reserve a new round's reward; return the last opened round's if it was never accepted
    /// (rounds open in increasing order, so only that one can still be unfinished).
    function _reserveReward(bytes32 jobId, Job storage job, Round storage rd) internal {
        uint128 pool = job.pool;
        if (job.nextRound != 0) {
            Round storage previous = rounds[jobId][job.nextRound - 1];
            if (previous.phase != Phase.Accepted && previous.reward != 0) {
                pool += previous.reward;
                previous.reward = 0;
            }
        }
        uint128 reward = job.rewardPerRound < pool ? job.rewardPerRound : pool;
        if (reward > type(uint88).max) reward = type(uint88).max;
        job.pool = pool - reward;
        rd.reward = uint88(reward);
    }

    function _contextBase(bytes32 jobId, uint64 round) internal pure returns (uint256) {
        return (uint256(sha256(abi.encodePacked(jobId, round))) >> 35) << 32;
    }

    function _bits(uint256 n) internal pure returns (uint256) {
        return n == 256 ? type(uint256).max : (1 << n) - 1;
    }

    function _ecMul(uint256[2] memory p, uint256 s) internal view returns (uint256[2] memory out) {
        uint256[3] memory input = [p[0], p[1], s];
        bool ok;
        assembly {
            ok := staticcall(gas(), 7, input, 96, out, 64)
        }
        if (!ok) revert PrecompileFailed();
    }

    function _ecAdd(uint256[2] memory a, uint256[2] memory b) internal view returns (uint256[2] memory out) {
        uint256[4] memory input = [a[0], a[1], b[0], b[1]];
        bool ok;
        assembly {
            ok := staticcall(gas(), 6, input, 128, out, 64)
        }
        if (!ok) revert PrecompileFailed();
    }
}
