// "Speak live" in the host console: the microphone, 16 kHz mono 16-bit in 250 ms chunks, sent as
// binary Socket.IO events on the staff connection. The caption worker turns it into captions.
const CHUNK_SAMPLES = 4000;

async function startMicrophone(socket, say) {
  const stream = await navigator.mediaDevices.getUserMedia({
    audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: true },
  });
  const context = new AudioContext();
  await context.audioWorklet.addModule(new URL('./pcm-worklet.js', import.meta.url));
  const source = context.createMediaStreamSource(stream);
  const node = new AudioWorkletNode(context, 'pcm-16k', { processorOptions: { chunkSamples: CHUNK_SAMPLES } });
  let refused = '';
  node.port.onmessage = (event) => {
    if (!socket.connected) return; // offline: this audio is not captioned
    socket.emit('caption_audio', { audio: event.data }, (reply) => {
      const message = reply && !reply.ok ? reply.message : '';
      if (message !== refused) { refused = message; say(message || 'Live: residents see captions of what you say.'); }
    });
  };
  source.connect(node);
  node.connect(context.destination); // silent (the processor writes no output) but keeps it running
  return async () => {
    node.port.onmessage = null;
    source.disconnect();
    node.disconnect();
    for (const track of stream.getTracks()) track.stop();
    await context.close();
    if (socket.connected) socket.emit('caption_audio', { end: true }, () => {});
  };
}

export function speakLive(section, socket) {
  const button = section.querySelector('[data-speak-live]');
  const status = section.querySelector('[data-field="speak-status"]');
  const say = (text) => { status.textContent = text; };
  let stop = null;
  button.hidden = false;
  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      if (stop) {
        await stop();
        stop = null;
        say('Stopped. Residents keep the captions so far.');
      } else {
        stop = await startMicrophone(socket, say);
        say('Live: residents see captions of what you say.');
      }
    } catch (err) {
      stop = null;
      say(`The microphone could not be used (${err.message}). Check the browser's permission for this site.`);
    } finally {
      button.disabled = false;
      button.setAttribute('aria-pressed', String(Boolean(stop)));
      button.textContent = stop ? 'Stop speaking live' : 'Speak live';
    }
  });
}
