// The task and channel builtins (SPEC §6, §8, §11): chan close cap cancel sleep after
// yield task_id. The waiting ones park the calling task through the runtime and are
// registered as `yields`; the others are `instant`.
#include <chrono>

#include "runtime/channel.hpp"
#include "runtime/concurrency.hpp"
#include "runtime/runtime.hpp"
#include "runtime/scheduler.hpp"
#include "stdlib/natives.hpp"

namespace tsk::stdlib {

namespace {

rt::Channel* channel_arg(TaskState& t, const Value* args, std::string_view fn) {
  if (args[0].tag != Tag::Chan) type_error(t, fn, "ch", "a channel", args[0]);
  return static_cast<rt::Channel*>(args[0].as_handle()->target);
}

Value new_channel(TaskState& t, uint32_t capacity) {
  // Made where the native was called: the CALL instruction of the innermost frame.
  const vm::Frame& f = t.frames.back();
  const vm::Proto* p = f.closure->proto;
  auto* ch = new rt::Channel(rt::runtime_of(t), rt::runtime_of(t).next_chan_id++, capacity, p, uint32_t(f.pc - p->code.data()));
  Value v = Value::object(t.heap.handle(Tag::Chan, ch));
  ch->release();  // the handle holds it now
  return v;
}

double seconds_arg(TaskState& t, const Value* args, std::string_view fn) {
  double d = arg_number(t, args, 0, fn, "seconds");
  if (!(d >= 0)) t.raise("ValueError", std::string(fn) + "(): seconds must be a non-negative number");
  return d;
}

rt::Clock::time_point deadline(double seconds) {
  // Past ~292 years the clock overflows; nobody waits that long.
  if (seconds > 1e9) seconds = 1e9;
  return rt::Clock::now() + std::chrono::duration_cast<rt::Clock::duration>(std::chrono::duration<double>(seconds));
}

}  // namespace

Value t_chan(TaskState& t, Value* args, int nargs) {
  int64_t n = nargs > 0 ? arg_int(t, args, 0, "chan", "capacity") : 0;
  if (n < 0) t.raise("ValueError", "chan(): capacity must not be negative");
  if (n > int64_t(rt::Fifo<vm::Message>::kMaxItems))
    t.raise("ValueError", "chan(): capacity too large (at most " + std::to_string(rt::Fifo<vm::Message>::kMaxItems) + ")");
  return new_channel(t, uint32_t(n));
}

Value t_close(TaskState& t, Value* args, int) {
  rt::Channel* ch = channel_arg(t, args, "close");
  rt::channel_close(rt::runtime_of(t), rt::host_of(t), *ch);
  return Value::nil();
}

Value t_cap(TaskState& t, Value* args, int) {
  return Value::integer(int64_t(channel_arg(t, args, "cap")->capacity));
}

Value t_cancel(TaskState& t, Value* args, int) {
  rt::cancel(t, args[0]);
  return Value::nil();
}

Value t_sleep(TaskState& t, Value* args, int) {
  double d = seconds_arg(t, args, "sleep");
  rt::check_cancel(t);
  if ((t.call_depth > 0 && !t.in_fiber) || !t.host)
    t.raise("Error", "cannot wait inside a function called by a native (such as sort's less) yet");
  rt::Task& self = rt::host_of(t);
  uint64_t gen = self.begin_wait(rt::WaitInfo::on(rt::WaitInfo::Sleep));
  rt::runtime_of(t).scheduler->add_timer(deadline(d), &self, gen);
  t.suspended = true;
  return Value::nil();
}

Value t_after(TaskState& t, Value* args, int) {
  double d = seconds_arg(t, args, "after");
  Value v = new_channel(t, 1);
  rt::runtime_of(t).scheduler->add_channel_timer(deadline(d), static_cast<rt::Channel*>(v.as_handle()->target));
  return v;
}

Value t_yield(TaskState& t, Value*, int) {
  rt::check_cancel(t);
  if (t.call_depth > 0 || !t.host) return Value::nil();  // nothing to yield to from a callback
  rt::host_of(t).yield_now = true;
  t.suspended = true;
  return Value::nil();
}

Value t_task_id(TaskState& t, Value*, int) { return Value::integer(int64_t(rt::host_of(t).id)); }

Value t_tick(TaskState& t, Value* args, int) {
  double d = seconds_arg(t, args, "time.tick");
  if (d <= 0) t.raise("ValueError", "time.tick(): the period must be positive");
  Value v = new_channel(t, 1);
  auto period = std::chrono::duration_cast<rt::Clock::duration>(std::chrono::duration<double>(d));
  if (period.count() == 0) period = rt::Clock::duration(1);
  rt::runtime_of(t).scheduler->add_channel_timer(rt::Clock::now() + period,
                                         static_cast<rt::Channel*>(v.as_handle()->target), period);
  return v;
}

namespace {

const vm::NativeEntry kTaskEntries[] = {
    {"", "chan", "chan(capacity = 0)", vm::Effect::Instant,
     "A new channel: unbuffered (a send waits for a receiver), or buffering capacity values", t_chan, 0, 1},
    {"", "close", "close(ch)", vm::Effect::Instant,
     "Closes ch: receivers drain it then get nil; waiting senders raise ChannelClosedError", t_close, 1, 1},
    {"", "cap", "cap(ch)", vm::Effect::Instant, "The capacity of the channel ch", t_cap, 1, 1},
    {"", "cancel", "cancel(t)", vm::Effect::Instant,
     "Asks task t to stop: Cancelled is raised in it at its next wait", t_cancel, 1, 1},
    {"", "sleep", "sleep(seconds)", vm::Effect::Yields,
     "Suspends the calling task for the given number of seconds", t_sleep, 1, 1},
    {"", "after", "after(seconds)", vm::Effect::Instant,
     "A channel that receives the monotonic time once, after the given seconds", t_after, 1, 1},
    {"", "yield", "yield()", vm::Effect::Yields, "Lets other tasks run before the calling task goes on",
     t_yield, 0, 0},
    {"", "task_id", "task_id()", vm::Effect::Instant, "The number of the calling task (main is 1)", t_task_id,
     0, 0},
};

}  // namespace

std::span<const vm::NativeEntry> task_entries() { return kTaskEntries; }

int64_t channel_length(Value chan) {
  return int64_t(static_cast<rt::Channel*>(chan.as_handle()->target)->count());
}

}  // namespace tsk::stdlib
