import type { ConnectionInfo, StreamInfo } from '@tether/client';

/** A client's membership of the session, as OpenTok shows it. One object per connection id, so `===` works. */
export class Connection {
  readonly connectionId: string;
  readonly creationTime: number;
  readonly data: string;

  constructor(info: ConnectionInfo) {
    this.connectionId = info.connectionId;
    this.creationTime = info.creationTime;
    this.data = info.data;
  }
}

/** A published stream, as OpenTok shows it; `hasAudio` / `hasVideo` follow `streamPropertyChanged`. */
export class Stream {
  readonly streamId: string;
  readonly connection: Connection;
  readonly creationTime: number;
  readonly name: string;
  hasAudio: boolean;
  hasVideo: boolean;
  readonly hasCaptions = false;
  readonly initials = '';
  readonly frameRate = 30;
  videoDimensions = { width: 640, height: 480 };
  readonly videoType: 'camera' | 'screen' | 'custom' | undefined;
  /** @internal What the client SDK knows the stream by. */
  readonly info: StreamInfo;

  constructor(info: StreamInfo, connection: Connection) {
    this.info = info;
    this.streamId = info.streamId;
    this.connection = connection;
    this.creationTime = info.creationTime;
    this.name = info.name;
    this.hasAudio = info.hasAudio;
    this.hasVideo = info.hasVideo;
    this.videoType = info.videoType;
  }
}
