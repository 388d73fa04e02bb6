"""The unified data-element standard (数据元规范): files, loader, exports."""
