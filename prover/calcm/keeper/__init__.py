"""The keeper: follows a chain block by block, proves what matters, submits it.

One pass of :class:`~calcm.keeper.loop.Keeper` over the chain's head block:

1. :mod:`.feed` reads the on-chain price feeds and refuses stale or malformed answers;
2. :mod:`.model` advances the model state (the fixed-point model update of
   :mod:`calcm.risk.modelfx`) when the feeds published a new round;
3. every account's margin is computed (float and fixed point) from the venue's
   private book (:mod:`.venue`), and :mod:`.selection` picks the groups to prove;
4. :mod:`.prover_pool` proves the model update and the margin batches in
   parallel on ``dask.distributed``;
5. the proofs are submitted after a last check against the registry's state, with
   receipts confirmed, RPC errors retried (:mod:`.retry`) and reorgs detected;
6. :mod:`.store` keeps everything durable in SQLite (idempotency keys), and
   :mod:`.metrics` exports Prometheus text.

:mod:`.replay` publishes a price history to the feeds (the demo's oracle), :mod:`.demo`
runs the whole system on a local anvil and :mod:`.bench` measures it. See docs/KEEPER.md.
"""
