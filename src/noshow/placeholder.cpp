// placeholder (issue 14 scaffold): replaced by its owner (/tmp/contract14.md).
