"""KryptoGO Studio Payment API: wire models and the async client."""
