"""Image store: content store (blobs by digest), metadata (SQLite), layers (apply and
diff with whiteouts), overlay snapshots shared between images, import/export."""
