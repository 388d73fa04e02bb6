"""Two levels (省、市两级主题库): a city hub relays what it accepts to the province, and reads the
province's registries back. See docs/federation.md.

- `uplink`: the city's `relay` consumer (profile full-fidelity) reads the city's own change log and
  submits each batch to the province's submission API on the `relay` channel; its cursor moves only
  after the province committed the batch.
- `downlink`: the city reads the registries the province holds of its own (laws, the matter list,
  provincial agencies) and stores them like any relayed versions.
- `status`: each link's position, lag in changes and in time, last success and errors.
- `worker`: the thread that runs both inside `serve` (and `enforcehub worker`).
"""
