// The microphone's samples, off the main thread: 16-bit PCM chunks of `chunk` frames at the
// context's rate, posted with the peak level (the server resamples to 16 kHz).
class TcccCapture extends AudioWorkletProcessor {
  constructor(options) {
    super();
    this.size = options.processorOptions.chunk;
    this.buffer = new Int16Array(this.size);
    this.filled = 0;
    this.peak = 0;
    this.running = true;
    this.port.onmessage = (event) => {
      if (event.data === "stop") {
        this.flush();
        this.running = false;
        this.port.postMessage({ stopped: true });
      }
    };
  }

  flush() {
    if (this.filled === 0) return;
    const pcm = this.buffer.slice(0, this.filled);
    this.port.postMessage({ pcm: pcm.buffer, peak: this.peak }, [pcm.buffer]);
    this.buffer = new Int16Array(this.size);
    this.filled = 0;
    this.peak = 0;
  }

  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    if (!this.running) return false;
    if (!channel) return true;
    for (let i = 0; i < channel.length; i++) {
      let v = channel[i];
      v = v < -1 ? -1 : v > 1 ? 1 : v;
      const a = v < 0 ? -v : v;
      if (a > this.peak) this.peak = a;
      this.buffer[this.filled++] = v < 0 ? v * 32768 : v * 32767;
      if (this.filled === this.size) {
        this.port.postMessage({ pcm: this.buffer.buffer, peak: this.peak }, [this.buffer.buffer]);
        this.buffer = new Int16Array(this.size);
        this.filled = 0;
        this.peak = 0;
      }
    }
    return true;
  }
}

registerProcessor("tccc-capture", TcccCapture);
