"""A small evaluator of Kubernetes NetworkPolicy objects, for labelled pods and IP addresses.

It implements the parts of the NetworkPolicy semantics our policies use: a pod is isolated
for a direction once any policy with that policyType selects it; then traffic is allowed only
if some rule of a selecting policy matches the peer (podSelector with matchLabels and
matchExpressions, namespaceSelector, ipBlock with except) and the port. A connection needs
both the source's egress and the destination's ingress to allow it. Pods outside the
namespace (kube-system's DNS) are peers with a namespace label; the Kubernetes API and the RGW
are addresses.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Endpoint:
    """A pod (labels, namespace labels) or an address outside the cluster's pods."""

    name: str
    labels: dict[str, str] = field(default_factory=dict)
    namespace: dict[str, str] = field(default_factory=lambda: {
        "kubernetes.io/metadata.name": "wisehub"})
    ip: str | None = None

    @property
    def is_pod(self) -> bool:
        return self.ip is None


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """Whether a label selector matches ``labels`` (an empty selector matches everything)."""
    for key, value in selector.get("matchLabels", {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions", []):
        key, op, values = expr["key"], expr["operator"], expr.get("values", [])
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
    return True


def _peer_matches(peer: dict[str, Any], other: Endpoint, own_namespace: dict[str, str]) -> bool:
    if "ipBlock" in peer:
        if other.is_pod:
            return False  # our pods' addresses are never in the ipBlocks we render
        address = ipaddress.ip_address(other.ip)
        block = peer["ipBlock"]
        return address in ipaddress.ip_network(block["cidr"]) and not any(
            address in ipaddress.ip_network(e) for e in block.get("except", []))
    if not other.is_pod:
        return False
    if "namespaceSelector" in peer:
        if not selects(peer["namespaceSelector"], other.namespace):
            return False
    elif other.namespace != own_namespace:
        return False
    return selects(peer.get("podSelector", {}), other.labels)


def _port_matches(rule: dict[str, Any], port: int, protocol: str) -> bool:
    ports = rule.get("ports")
    if not ports:
        return True
    return any(p.get("port") in (None, port) and p.get("protocol", "TCP") == protocol
               for p in ports)


def _allowed(policies: list[dict], pod: Endpoint, other: Endpoint, direction: str,
             port: int, protocol: str) -> bool:
    kind = "Ingress" if direction == "ingress" else "Egress"
    peers_key = "from" if direction == "ingress" else "to"
    selecting = [p for p in policies if kind in p["spec"].get("policyTypes", ["Ingress"])
                 and selects(p["spec"]["podSelector"], pod.labels)]
    if not selecting:
        return True  # not isolated in this direction
    for policy in selecting:
        for rule in policy["spec"].get(direction, []) or []:
            peers = rule.get(peers_key)
            peer_ok = not peers or any(_peer_matches(peer, other, pod.namespace)
                                       for peer in peers)
            if peer_ok and _port_matches(rule, port, protocol):
                return True
    return False


def can_connect(policies: list[dict], src: Endpoint, dst: Endpoint, port: int,
                protocol: str = "TCP") -> bool:
    """Whether ``src`` may open a connection to ``dst`` on ``port`` under ``policies``."""
    egress = not src.is_pod or _allowed(policies, src, dst, "egress", port, protocol)
    ingress = not dst.is_pod or _allowed(policies, dst, src, "ingress", port, protocol)
    return egress and ingress
