"""Fakes that speak real protocols on loopback (see fake_vllm.FakeVllm)."""
