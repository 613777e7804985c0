"""Understanding: article text in → lemmas, topics, countries, rule terms and the story fingerprint out (pure)."""
