export { generateTestAudio, generateTestVideo, runFfmpeg, type GenerateTestVideoOptions } from './generate-test-video.ts';
export { videoFromImage, type VideoFromImageOptions } from './video-from-image.ts';
