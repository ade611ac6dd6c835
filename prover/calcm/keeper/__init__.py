"""The keeper: follows a chain block by block, proves what matters, submits it (v3 registry).

One pass of :class:`~calcm.keeper.loop.Keeper` over the chain's head block:

1. :mod:`.feed` reads the on-chain price feeds (latest answers, and each day's close: the
   first round after midnight UTC) and refuses stale or malformed answers;
2. :mod:`.days` plans the model clock: every due daily GARCH step, oldest first; then an
   intraday revaluation at new prices and, when the options are not for the current state
   or are stale, every option part (:mod:`.model` computes states, commitments and the
   margin model of each model version, the fixed point of :mod:`calcm.risk.modelfx`);
3. every account's margin under the current version is computed (fixed point and its float
   twin) from the venue's private book (:mod:`.venue`), and :mod:`.selection` picks the
   groups whose records are not at the current version;
4. :mod:`.prover_pool` runs the :mod:`.proving` interface (``CircuitProvers``: the four v2
   circuits) in parallel on ``dask.distributed``;
5. the proofs are submitted after the chain's check for each key's effect and the
   registry's ``eth_call``, with receipts confirmed, RPC errors retried (:mod:`.retry`) and
   reorgs detected;
6. :mod:`.store` keeps everything durable in SQLite (idempotency keys), and
   :mod:`.metrics` exports Prometheus text.

The loop itself (:mod:`.loop`) is assembled from one mixin per concern: :mod:`.chain_reads`,
:mod:`.recovery`, :mod:`.model_plan`, :mod:`.proof_jobs`, :mod:`.submission`, :mod:`.margins`
(data types in :mod:`.config` and :mod:`.jobs`).

:mod:`.replay` publishes prices to the feeds (the demo's oracle); :mod:`.demo` runs the
whole system on a local anvil (:mod:`.demo_settings`, :mod:`.world`, :mod:`.venue_actions`,
:mod:`.demo_report`); :mod:`.bench` measures it and :mod:`.crash_schedule` /
:mod:`.crash_run`
kill it on a seeded schedule. Keeper keys: :mod:`calcm.chain.signer`. See docs/KEEPER.md.
"""
