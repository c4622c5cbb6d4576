"""The local cloud: an offline multi-region AWS on loopback (moto control plane + our data plane)."""
