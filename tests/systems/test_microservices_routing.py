"""Several load balancers: where the build puts each service, and how CloudFront finds it.

The routing function runs in Node against CloudFront's own request shape; only the
runtime's `cloudfront` module is a stand-in, recording the origin the function picks.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tap.config.schema import Invalid
from tap.errors import BuildError
from tap.systems.microservices.placement import check_placement
from tests.systems.microservices import Built, config, service, settings

NODE = shutil.which("node")

# What `import cf from 'cloudfront'` gives a function, reduced to what ours calls.
CLOUDFRONT_MODULE = "export default { selectRequestOriginById(id) { globalThis.selected = id; } };\n"

RUNNER = """
import { handler } from './routing.mjs';
const requests = JSON.parse(process.argv[2]);
const picked = requests.map(([host, uri]) => {
  const headers = host === null ? {} : { host: { value: host } };
  const request = { method: 'GET', uri, querystring: {}, headers, cookies: {} };
  const returned = handler({ version: '1.0', context: { eventType: 'viewer-request' }, viewer: { ip: '192.0.2.1' }, request });
  if (returned !== request) throw new Error('the request must pass on unchanged');
  return globalThis.selected;
});
console.log(JSON.stringify(picked));
"""


def run_routing(code: str, requests: list[tuple[str | None, str]], folder: Path) -> list[str]:
    (folder / "node_modules" / "cloudfront").mkdir(parents=True)
    (folder / "node_modules" / "cloudfront" / "package.json").write_text(
        '{"name": "cloudfront", "type": "module", "main": "index.js"}')
    (folder / "node_modules" / "cloudfront" / "index.js").write_text(CLOUDFRONT_MODULE)
    (folder / "routing.mjs").write_text(code + "\nexport { handler };\n")
    (folder / "run.mjs").write_text(RUNNER)
    done = subprocess.run(["node", "run.mjs", json.dumps(requests)], cwd=folder, capture_output=True,
                          text=True, check=True)
    return json.loads(done.stdout)


SERVICES = [service(f"svc-{n:03d}", priority=100 + n) for n in range(40)] + [
    service("shop", path_pattern=None, host="shop.example.com", priority=5),
    service("tenants", path_pattern=None, host="*.tenants.example.com", priority=6),
    service("orders-v2", path_pattern="/orders/v2/*"),
]


@pytest.fixture(scope="module")
def platform() -> Built:
    return Built(config(SERVICES, load_balancer={"count": 5}, cdn={"forward_host_header": True}))


def listener_index(platform: Built, name: str) -> int:
    prefix = "".join(part.capitalize() for part in name.split("-"))
    rule = platform[platform.stack_of(name)]["Resources"][f"{prefix}ListenerRule"]["Properties"]
    return rule["ListenerArn"]["Fn::Select"][0]


@pytest.mark.skipif(NODE is None, reason="needs node to run the CloudFront function")
def test_cloudfront_sends_each_request_to_the_load_balancer_holding_its_service(platform, tmp_path):
    code = platform["cdn"]["Resources"]["RoutingFunction"]["Properties"]["FunctionCode"]
    requests, expected = [], []
    for table in SERVICES:
        name = table["name"]
        where = listener_index(platform, name)
        if "host" in table:
            host = table["host"].replace("*", "eu")
            requests += [(host, "/"), (host.upper(), "/any/path")]
            expected += [f"load-balancer-{where}"] * 2
        else:
            first = table["path_pattern"].split("/")[1]
            requests += [("d111111abcdef8.cloudfront.net", f"/{first}/items/7"), (None, f"/{first}")]
            expected += [f"load-balancer-{where}"] * 2
    assert run_routing(code, requests, tmp_path) == expected
    assert len(set(expected)) == 5  # the services really are spread over all five


def test_a_services_load_balancer_depends_on_nothing_but_its_own_routing(platform):
    """Adding, removing and reordering services moves no other service."""
    fewer = Built(config(list(reversed(SERVICES[5:])), load_balancer={"count": 5},
                         cdn={"forward_host_header": True}))
    for table in SERVICES[5:]:
        assert listener_index(fewer, table["name"]) == listener_index(platform, table["name"])


def test_more_services_than_a_load_balancer_may_hold_fail_the_build_naming_the_hard_quota():
    with pytest.raises(Invalid) as caught:
        check_placement(settings(config([service(f"svc-{n:03d}", priority=n + 1) for n in range(101)])))
    assert caught.value.key == "services"
    assert "'Target groups per Application Load Balancer' quota is 100 and cannot be raised" in caught.value.problem
    assert "raise load_balancer.count" in caught.value.allowed
    check_placement(settings(config([service(f"svc-{n:03d}", priority=n + 1) for n in range(101)],
                                    load_balancer={"count": 2})))


def test_with_several_load_balancers_a_path_pattern_must_start_with_a_literal_segment():
    with pytest.raises(Invalid) as caught:
        check_placement(settings(config([service("orders", path_pattern="/ord*")], load_balancer={"count": 2})))
    assert caught.value.key == "services[0].path_pattern"
    assert "/orders/*" in caught.value.allowed
    check_placement(settings(config([service("orders", path_pattern="/ord*")])))  # one load balancer: anything goes


def test_a_host_table_too_big_for_a_cloudfront_function_fails_the_build():
    hosts = [service(f"svc-{n:03d}", path_pattern=None, host=f"tenant-{n:03d}-with-a-long-name.example.com",
                     priority=n + 1)
             for n in range(400)]
    with pytest.raises(BuildError, match="'Maximum function size' is 10240 bytes and cannot be raised"):
        Built(config(hosts, load_balancer={"count": 5}, cdn={"forward_host_header": True}))
