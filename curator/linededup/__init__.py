"""Deduplication below the document: lines, paragraphs or sentences repeated across the corpus."""
