// Writes the tokenizer.json fuzz seeds: small documents with each model type, normalizer, pre-tokenizer,
// decoder and post-processor the loader reads.
#include "text_seeds.h"

int main(int argc, char** argv) {
  return write_seeds(argc, argv, {
    R"({"added_tokens": [{"id": 5, "content": "<bos>", "special": true},
                         {"id": 6, "content": "<tool>", "special": false, "lstrip": true, "rstrip": true}],
        "normalizer": {"type": "NFC"},
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "use_regex": true},
        "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<bos>"}},
                           {"Sequence": {"id": "A"}}], "special_tokens": {"<bos>": {"ids": [5]}}},
        "decoder": {"type": "ByteLevel"},
        "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "\u0120": 2, "ab": 3, "\u0120ab": 4},
                  "merges": ["a b", "\u0120 ab"]}})",
    R"({"normalizer": {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "\u2581"},
                       {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}]},
        "pre_tokenizer": null,
        "decoder": {"type": "Sequence", "decoders": [{"type": "Replace", "pattern": {"String": "\u2581"},
                    "content": " "}, {"type": "ByteFallback"}, {"type": "Fuse"}, {"type": "Strip", "content": " ",
                    "start": 1, "stop": 0}]},
        "model": {"type": "BPE", "byte_fallback": true, "unk_token": "<unk>",
                  "vocab": {"<unk>": 0, "<s>": 1, "</s>": 2, "<0x41>": 3, "\u2581": 4, "h": 5, "i": 6, "hi": 7,
                            "\u2581hi": 8}, "merges": [["h", "i"], ["\u2581", "hi"]]}})",
    R"({"normalizer": {"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true,
                       "strip_accents": null, "lowercase": true},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {"type": "BertProcessing", "sep": ["[SEP]", 3], "cls": ["[CLS]", 2]},
        "decoder": {"type": "WordPiece", "prefix": "##"},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                  "max_input_chars_per_word": 100,
                  "vocab": {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "hello": 4, "world": 5, "##s": 6}}})",
    R"({"pre_tokenizer": {"type": "Sequence", "pretokenizers": [
          {"type": "Split", "pattern": {"Regex": "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}"},
           "behavior": "Isolated", "invert": false},
          {"type": "Digits", "individual_digits": true},
          {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "first", "split": true},
          {"type": "Punctuation", "behavior": "Contiguous"}, {"type": "WhitespaceSplit"}]},
        "decoder": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always"},
        "model": {"type": "BPE", "ignore_merges": true, "vocab": {"a": 0, "b": 1, "ab": 2, "1": 3},
                  "merges": ["a b"]}})",
  });
}
