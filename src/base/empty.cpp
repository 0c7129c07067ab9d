// Empty translation unit: stands in while a globbed library has no sources yet.
