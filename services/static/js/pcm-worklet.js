// AudioWorklet processor for "Speak live": the microphone at the context's rate (often 48 kHz) to
// 16 kHz mono 16-bit samples (linear interpolation after a short averaging filter), posted to the
// page in chunks of `chunkSamples` (4000 = 250 ms) as transferable ArrayBuffers.
const TARGET = 16000;

class Pcm16k extends AudioWorkletProcessor {
  constructor(options) {
    super();
    this.ratio = sampleRate / TARGET; // eslint-disable-line no-undef
    this.size = (options.processorOptions && options.processorOptions.chunkSamples) || 4000;
    this.out = new Int16Array(this.size);
    this.n = 0;
    this.t = 0; // position of the next output sample, in input samples from this block's start
    this.prev = 0;
    this.smooth = 0;
  }

  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    if (!channel) return true;
    const taps = Math.max(1, Math.round(this.ratio));
    const block = new Float32Array(channel.length);
    for (let i = 0; i < channel.length; i += 1) { // one-pole low-pass against aliasing
      this.smooth += (channel[i] - this.smooth) / taps;
      block[i] = this.smooth;
    }
    while (this.t + 1 < block.length) {
      const i = Math.floor(this.t);
      const f = this.t - i;
      const a = i < 0 ? this.prev : block[i];
      const b = block[i + 1];
      const v = Math.max(-1, Math.min(1, a + (b - a) * f));
      this.out[this.n] = v < 0 ? v * 0x8000 : v * 0x7fff;
      this.n += 1;
      if (this.n === this.size) {
        this.port.postMessage(this.out.buffer, [this.out.buffer]);
        this.out = new Int16Array(this.size);
        this.n = 0;
      }
      this.t += this.ratio;
    }
    this.t -= block.length;
    this.prev = block[block.length - 1];
    return true;
  }
}

registerProcessor('pcm-16k', Pcm16k);
