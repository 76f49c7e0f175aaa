"""The local release environment: a real Kubernetes control plane plus the processes that make it behave.

rollcheck's end-to-end tests run against a real kube-apiserver and kube-controller-manager without kubelet,
scheduler or container runtime. This package holds the pieces that fill those gaps: the demo service that
every ``rollcheck-demo:<tag>`` container runs as a local process, the node agent that stands in for kubelet
and kube-proxy, and the load generator that keeps traffic flowing so Prometheus has something to measure.
"""
