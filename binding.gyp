{
  "targets": [
    {
      "target_name": "shmetrics",
      "sources": [
        "native/binding.cc",
        "native/region.cc",
        "native/registry.cc",
        "native/values.cc",
        "native/symbols.cc",
        "native/text_files.cc",
        "native/text_files_wrap.cc",
        "native/thresholds.cc",
        "native/collection_loop.cc",
        "native/collectors/make_collector.cc",
        "native/collectors/aggregate_collectors.cc",
        "native/collectors/file_collector.cc",
        "native/collectors/symbol_collectors.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NODE_ADDON_API_DISABLE_DEPRECATED"
      ],
      "cflags_cc": [
        "-std=c++17",
        "-O2",
        "-Wall",
        "-Wextra",
        "-fexceptions"
      ],
      "cflags_cc!": [
        "-fno-exceptions"
      ],
      "libraries": [
        "-lpthread",
        "-ldl"
      ]
    },
    {
      "target_name": "shmetrics_native_tests",
      "type": "executable",
      "sources": [
        "native/tests/main.cc",
        "native/tests/region_test.cc",
        "native/tests/collectors_test.cc",
        "native/region.cc",
        "native/registry.cc",
        "native/values.cc",
        "native/symbols.cc",
        "native/text_files.cc",
        "native/collectors/make_collector.cc",
        "native/collectors/aggregate_collectors.cc",
        "native/collectors/file_collector.cc",
        "native/collectors/symbol_collectors.cc"
      ],
      "cflags_cc": [
        "-std=c++17",
        "-O1",
        "-g",
        "-Wall",
        "-Wextra",
        "-fexceptions"
      ],
      "cflags_cc!": [
        "-fno-exceptions"
      ],
      "libraries": [
        "-lpthread",
        "-ldl"
      ]
    }
  ]
}
