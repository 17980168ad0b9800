// An empty translation unit for a layer that has no sources yet.
