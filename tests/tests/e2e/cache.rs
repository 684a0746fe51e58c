//! Profile cache coherence across replicas, and the one-retry read path.
