"""A user's own check of the router chain, beside ``chain.py`` (README's example).

``verify tests/topologies/chain.py`` finds it here by the file's name and runs
it with the derived checks, in the same table, results.json and pcaps.
"""

from orchestrator.checks import check
from orchestrator.packets import expect, icmp, ip


@check("pc1-reaches-pc3", summary="pc1's echo is answered by pc3, two routers away")
def pc1_reaches_pc3(ctx):
    with ctx.capture([("pc1", "pc1-eth0"), ("pc3", "pc3-eth0")], "icmp") as cap:
        ctx.lab.run_in("pc1", ["ping", "-c1", "10.9.1.13"])
    request = expect(cap["pc3-eth0"]).first(icmp(type="echo-request") & ip(src="10.9.0.11"))
    expect(cap["pc1-eth0"]).first(icmp(type="echo-reply") & ip(src="10.9.1.13"))
    return f"pc3 got pc1's echo with TTL {request.ip.ttl}"
