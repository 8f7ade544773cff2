// The N-API face of TextFiles: new NativeTextFiles(dir, mode), write(name, text), remove(name), close().

#include <napi.h>

#include <memory>

#include "region.h"
#include "text_files.h"

namespace shmetrics {

class TextFilesWrap : public Napi::ObjectWrap<TextFilesWrap> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "NativeTextFiles",
                       {
                           InstanceMethod<&TextFilesWrap::Write>("write"),
                           InstanceMethod<&TextFilesWrap::Remove>("remove"),
                           InstanceMethod<&TextFilesWrap::Close>("close"),
                       });
  }

  explicit TextFilesWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TextFilesWrap>(info) {
    try {
      files_ = std::make_unique<TextFiles>(info[0].As<Napi::String>().Utf8Value(),
                                           mode_t(info[1].As<Napi::Number>().Uint32Value()));
    } catch (const RegionException& e) {
      throw Napi::Error::New(info.Env(), e.what());
    }
  }

 private:
  TextFiles& files(Napi::Env env) {
    if (!files_) throw Napi::Error::New(env, "text files are closed");
    return *files_;
  }

  Napi::Value Write(const Napi::CallbackInfo& info) {
    try {
      files(info.Env()).write(info[0].As<Napi::String>().Utf8Value(), info[1].As<Napi::String>().Utf8Value());
    } catch (const RegionException& e) {
      throw Napi::Error::New(info.Env(), e.what());
    }
    return info.Env().Undefined();
  }

  Napi::Value Remove(const Napi::CallbackInfo& info) {
    try {
      files(info.Env()).remove(info[0].As<Napi::String>().Utf8Value());
    } catch (const RegionException& e) {
      throw Napi::Error::New(info.Env(), e.what());
    }
    return info.Env().Undefined();
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    files_.reset();
    return info.Env().Undefined();
  }

  std::unique_ptr<TextFiles> files_;
};

Napi::Function InitTextFiles(Napi::Env env) { return TextFilesWrap::Init(env); }

}  // namespace shmetrics
