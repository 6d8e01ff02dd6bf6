"""The one fake of Ableton Live used by every Remote Script test: the parts of the Live Object
Model and of the MIDI Remote Script framework that DAWBridge touches, with the host's rules.

Faithful to Live 11/12 as documented (Cycling '74 LOM reference, the decompiled
``_Framework.ControlSurface``):

- ``Live.Clip.MidiNoteSpecification(pitch, start_time, duration, velocity, mute, ...)``;
  ``Clip.get_notes_extended(from_pitch, pitch_span, from_time, time_span)`` returns the notes
  *starting* inside the area; ``Clip.add_new_notes`` takes a sequence of specifications and
  returns their note ids.
- ``ClipSlot.create_clip(length)`` only on an empty slot of a MIDI track; a new Session clip loops
  over ``0..length``. ``Track.create_midi_clip(start_time, length)`` exists from Live 12 on
  (``version=12``); Live 11 has ``Track.duplicate_clip_to_arrangement(clip, time)`` instead.
- ``Song.create_midi_track(index)`` accepts -1 or 0..len(tracks), selects the new track and the
  caller must not rely on its return value; every track has one clip slot per scene.
- Every change made from a script is its own undo step unless it happens between
  ``begin_undo_step()`` and ``end_undo_step()``; ``Song.undo()`` reverts one step exactly.
- The LOM may only be touched from Live's main thread (Live crashes otherwise; here it raises).
- ``schedule_message(delay_in_ticks, callback, parameter=None)`` runs ``callback`` on a later tick
  (one tick is about 100 ms); MIDI reaches ``receive_midi`` only for the notes and CCs the script
  forwarded in ``build_midi_map`` via ``Live.MidiMap.forward_midi_note/forward_midi_cc``.

``install()`` puts the modules ``Live``, ``_Framework`` and ``_Framework.ControlSurface`` into
``sys.modules``; ``LiveHost`` loads a Remote Script package and drives it like Live does.
"""

import contextlib
import sys
import threading
import time
import types

TICK_SECONDS = 0.1


def _main_thread_only():
    if threading.current_thread() is not threading.main_thread():
        raise RuntimeError("the Live Object Model may only be accessed from Live's main thread")


# --- Live.Clip -----------------------------------------------------------------------------


class MidiNoteSpecification:
    """``Live.Clip.MidiNoteSpecification``: what ``Clip.add_new_notes`` takes."""

    def __init__(self, pitch, start_time, duration, velocity=100.0, mute=False,
                 probability=1.0, velocity_deviation=0.0, release_velocity=64.0):
        self.pitch = int(pitch)
        self.start_time = float(start_time)
        self.duration = float(duration)
        self.velocity = float(velocity)
        self.mute = bool(mute)
        self.probability = float(probability)
        self.velocity_deviation = float(velocity_deviation)
        self.release_velocity = float(release_velocity)


class MidiNote:
    """``Live.Clip.MidiNote``: what ``Clip.get_notes_extended`` returns (read-only fields)."""

    def __init__(self, note_id, spec):
        self.note_id = note_id
        for name in ("pitch", "start_time", "duration", "velocity", "mute", "probability",
                     "velocity_deviation", "release_velocity"):
            setattr(self, name, getattr(spec, name))


class Clip:
    """``Live.Clip.Clip``: a MIDI clip in a Session slot or on the Arrangement timeline."""

    def __init__(self, song, length, is_arrangement_clip=False, start_time=0.0, name=""):
        self._song = song
        self._notes = []
        self._next_id = 1
        self._name = name
        self.is_midi_clip = True
        self.is_audio_clip = False
        self.is_arrangement_clip = is_arrangement_clip
        self.start_time = float(start_time)  # song position (Arrangement clips)
        self.looping = not is_arrangement_clip
        self.loop_start = 0.0
        self.loop_end = float(length)
        self.start_marker = 0.0
        self.end_marker = float(length)
        self.canonical_parent = None
        self.signature_numerator = song.signature_numerator
        self.signature_denominator = song.signature_denominator
        self._selected = set()  # note ids selected in the clip editor

    @property
    def name(self):
        return self._name

    @name.setter
    def name(self, value):
        _main_thread_only()
        old = self._name
        self._name = str(value)
        self._song._journal.record(lambda: setattr(self, "_name", old))

    @property
    def length(self):
        """Loop length when looping, else the distance between the start and end markers."""
        if self.looping:
            return self.loop_end - self.loop_start
        return self.end_marker - self.start_marker

    @property
    def end_time(self):
        if self.is_arrangement_clip:
            return self.start_time + self.length
        return self.loop_end if self.looping else self.end_marker

    def get_notes_extended(self, from_pitch, pitch_span, from_time, time_span):
        _main_thread_only()
        if pitch_span < 0 or time_span < 0:
            raise ValueError("pitch_span and time_span must not be negative")
        return tuple(
            note for note in self._notes
            if from_pitch <= note.pitch < from_pitch + pitch_span
            and from_time <= note.start_time < from_time + time_span
        )

    def get_selected_notes_extended(self):
        """Live 11.1+: the notes selected in the clip editor."""
        _main_thread_only()
        return tuple(note for note in self._notes if note.note_id in self._selected)

    def select_notes(self, predicate):
        """Test helper: the user selects the notes for which ``predicate(note)`` holds."""
        self._selected = set(n.note_id for n in self._notes if predicate(n))

    def add_new_notes(self, specifications):
        _main_thread_only()
        added = []
        for spec in specifications:
            if not isinstance(spec, MidiNoteSpecification):
                raise TypeError("add_new_notes expects Live.Clip.MidiNoteSpecification objects")
            if not 0 <= spec.pitch <= 127:
                raise ValueError("pitch out of range 0..127")
            if spec.duration <= 0 or not 0 <= spec.velocity <= 127:
                raise ValueError("duration must be > 0 and velocity in range 0..127")
            note = MidiNote(self._next_id, spec)
            self._next_id += 1
            added.append(note)
        self._notes.extend(added)
        ids = tuple(note.note_id for note in added)
        self._song._journal.record(lambda: self._remove_ids(ids))
        return ids

    def _remove_ids(self, ids):
        self._notes = [note for note in self._notes if note.note_id not in ids]

    def snapshot(self):
        """Test helper: everything a user could see of the clip, for before/after comparisons."""
        notes = sorted((n.pitch, n.start_time, n.duration, n.velocity, n.mute) for n in self._notes)
        return (self._name, self.looping, self.loop_start, self.loop_end, self.start_marker,
                self.end_marker, self.start_time, tuple(notes))


# --- ClipSlot, Track ---------------------------------------------------------------------------


class ClipSlot:
    """``Live.ClipSlot.ClipSlot``: one cell of the Session matrix."""

    def __init__(self, track):
        self.canonical_parent = track
        self._clip = None

    @property
    def has_clip(self):
        return self._clip is not None

    @property
    def clip(self):
        return self._clip

    def create_clip(self, length):
        _main_thread_only()
        song = self.canonical_parent._song
        if self._clip is not None:
            raise RuntimeError("Clip slot is not empty")
        if not self.canonical_parent.has_midi_input:
            raise RuntimeError("Can only create MIDI clips in MIDI tracks")
        if not length > 0:
            raise RuntimeError("Invalid clip length")
        self._set(Clip(song, length))
        song._journal.record(lambda: self._set(None))
        return self._clip

    def delete_clip(self):
        _main_thread_only()
        old = self._clip
        self._set(None)
        self.canonical_parent._song._journal.record(lambda: self._set(old))

    def _set(self, clip):
        self._clip = clip
        if clip is not None:
            clip.canonical_parent = self


class Track:
    """``Live.Track.Track``: a MIDI (or audio) track with its Session slots and Arrangement clips."""

    def __init__(self, song, name, midi=True, scenes=0):
        self._song = song
        self._name = name
        self.has_midi_input = midi
        self.has_audio_input = not midi
        self.clip_slots = [ClipSlot(self) for _ in range(scenes)]
        self.arrangement_clips = []
        self.devices = []
        if song.version >= 12:
            self.create_midi_clip = self._create_midi_clip
        self.duplicate_clip_to_arrangement = self._duplicate_clip_to_arrangement

    @property
    def name(self):
        return self._name

    @name.setter
    def name(self, value):
        _main_thread_only()
        old = self._name
        self._name = str(value)
        self._song._journal.record(lambda: setattr(self, "_name", old))

    def _create_midi_clip(self, start_time, length):
        """Live 12: an empty MIDI clip on the Arrangement timeline."""
        _main_thread_only()
        if not self.has_midi_input:
            raise RuntimeError("Track is not a MIDI track")
        if not 0.0 <= start_time <= 1576800.0 or not length > 0:
            raise RuntimeError("start_time or length out of range")
        return self._add_arrangement_clip(Clip(self._song, length, True, start_time))

    def _duplicate_clip_to_arrangement(self, clip, destination_time):
        """Live 11+: a copy of a Session clip on this track's Arrangement timeline."""
        _main_thread_only()
        copy = Clip(self._song, clip.length, True, destination_time, clip.name)
        for note in clip._notes:
            copy._notes.append(MidiNote(note.note_id, note))
        return self._add_arrangement_clip(copy)

    def _add_arrangement_clip(self, clip):
        clip.canonical_parent = self
        self.arrangement_clips.append(clip)
        self.arrangement_clips.sort(key=lambda c: c.start_time)
        self._song._journal.record(lambda: self.arrangement_clips.remove(clip))
        return clip


# --- Song ------------------------------------------------------------------------------------


class _Journal:
    """Undo history: one step per script change, or one per begin/end_undo_step pair."""

    def __init__(self):
        self.steps = []
        self._depth = 0
        self._open = None

    def begin(self):
        if self._depth == 0:
            self._open = []
        self._depth += 1

    def end(self):
        if self._depth == 0:
            return  # Live ignores an unmatched end_undo_step
        self._depth -= 1
        if self._depth == 0:
            if self._open:
                self.steps.append(self._open)
            self._open = None

    def record(self, undo):
        if self._depth:
            self._open.append(undo)
        else:
            self.steps.append([undo])


class SongView:
    """``Live.Song.Song.View``: what is selected and shown."""

    def __init__(self):
        self.detail_clip = None
        self.selected_track = None
        self.selected_scene = None
        self.highlighted_clip_slot = None


class Song:
    """``Live.Song.Song``: tracks, scenes, tempo, metre, Live 12's scale, undo steps."""

    def __init__(self, version=12, scenes=8, tempo=120.0, signature=(4, 4)):
        self.version = version
        self._journal = _Journal()
        self.view = SongView()
        self.tempo = float(tempo)
        self.signature_numerator, self.signature_denominator = signature
        self.current_song_time = 0.0
        self.scenes = [object() for _ in range(scenes)]
        self.tracks = []
        if version >= 12:
            self.root_note = 0
            self.scale_name = "Major"
            self.scale_mode = False

    def create_midi_track(self, index=-1):
        _main_thread_only()
        if index == -1:
            index = len(self.tracks)
        if not 0 <= index <= len(self.tracks):
            raise IndexError("Track index out of range")
        track = Track(self, f"{index + 1}-MIDI", True, len(self.scenes))
        self.tracks.insert(index, track)
        self.view.selected_track = track  # Live selects the new track; its slots are empty
        self.view.detail_clip = None
        self._journal.record(lambda: self.tracks.remove(track))

    def create_scene(self, index=-1):
        _main_thread_only()
        if index == -1:
            index = len(self.scenes)
        if not 0 <= index <= len(self.scenes):
            raise IndexError("Scene index out of range")
        self.scenes.insert(index, object())
        for track in self.tracks:
            track.clip_slots.insert(index, ClipSlot(track))
        self._journal.record(lambda: self._remove_scene(index))

    def _remove_scene(self, index):
        del self.scenes[index]
        for track in self.tracks:
            del track.clip_slots[index]

    def begin_undo_step(self):
        _main_thread_only()
        self._journal.begin()

    def end_undo_step(self):
        _main_thread_only()
        self._journal.end()

    @property
    def can_undo(self):
        return bool(self._journal.steps)

    def undo(self):
        for undo in reversed(self._journal.steps.pop()):
            undo()

    # test helpers (not LOM) --------------------------------------------------------------

    def add_track(self, name, midi=True):
        """A track that was there before the script ran (no undo step)."""
        track = Track(self, name, midi, len(self.scenes))
        self.tracks.append(track)
        return track

    def undo_steps(self):
        return len(self._journal.steps)


def add_session_clip(track, slot, length, notes, name=""):
    """Test helper: a clip the user recorded (not part of the undo history)."""
    clip = Clip(track._song, length, name=name)
    track.clip_slots[slot]._set(clip)
    clip._notes = [MidiNote(i + 1, _spec(n)) for i, n in enumerate(notes)]
    clip._next_id = len(notes) + 1
    return clip


def add_arrangement_clip(track, start_time, length, notes, name=""):
    """Test helper: an Arrangement clip the user recorded."""
    clip = Clip(track._song, length, True, start_time, name)
    clip.canonical_parent = track
    track.arrangement_clips.append(clip)
    clip._notes = [MidiNote(i + 1, _spec(n)) for i, n in enumerate(notes)]
    return clip


def _spec(note):
    pitch, start, duration, velocity = note
    return MidiNoteSpecification(pitch, start, duration, velocity)


# --- Live.MidiMap and the ControlSurface framework ---------------------------------------------


class _MidiMap:
    """What ``build_midi_map`` forwarded: ``{("note"|"cc", channel 0..15, number)}``."""

    def __init__(self):
        self.forwarded = set()

    def forward_midi_note(self, script_handle, midi_map_handle, channel, note):
        self.forwarded.add(("note", channel, note))
        return True

    def forward_midi_cc(self, script_handle, midi_map_handle, channel, cc):
        self.forwarded.add(("cc", channel, cc))
        return True


class CInstance:
    """The ``c_instance`` Live hands to ``create_instance``."""

    def __init__(self, song):
        self._song = song
        self.status_bar = []
        self.log_lines = []
        self.rebuild_requested = True

    def song(self):
        return self._song

    def handle(self):
        return 1

    def show_message(self, message):
        self.status_bar.append(message)

    def log_message(self, message):
        self.log_lines.append(message)

    def request_rebuild_midi_map(self):
        self.rebuild_requested = True

    def send_midi(self, midi_bytes):
        pass


class ControlSurface:
    """``_Framework.ControlSurface.ControlSurface``: the services a script's manager inherits."""

    def __init__(self, c_instance):
        self._c_instance = c_instance
        self._scheduled = []  # [ticks left, callback, parameter]
        self._is_sending_scheduled_messages = False

    def song(self):
        return self._c_instance.song()

    def schedule_message(self, delay_in_ticks, callback, parameter=None):
        if not callable(callback):
            raise TypeError("callback must be callable")
        if not self._is_sending_scheduled_messages:
            delay_in_ticks -= 1
        self._scheduled.append([delay_in_ticks, callback, parameter])

    def show_message(self, message):
        self._c_instance.show_message(message)

    def log_message(self, *message):
        self._c_instance.log_message(" ".join(str(m) for m in message))

    def request_rebuild_midi_map(self):
        self._c_instance.request_rebuild_midi_map()

    def build_midi_map(self, midi_map_handle):
        pass

    def receive_midi(self, midi_bytes):
        self.log_message("Got unknown message: " + str(midi_bytes))

    @contextlib.contextmanager
    def component_guard(self):
        yield

    def disconnect(self):
        self._scheduled = []

    def update_display(self):
        """Called by Live every tick; runs the scheduled messages that are due."""
        self._is_sending_scheduled_messages = True
        try:
            due = [entry for entry in self._scheduled if entry[0] <= 0]
            for entry in self._scheduled:
                entry[0] -= 1
            self._scheduled = [entry for entry in self._scheduled if entry not in due]
            for _, callback, parameter in due:
                if parameter:
                    callback(parameter)
                else:
                    callback()
        finally:
            self._is_sending_scheduled_messages = False


MIDI_MAP = _MidiMap()


def install():
    """Register the fake ``Live`` and ``_Framework`` modules (idempotent)."""
    live = types.ModuleType("Live")
    live.Clip = types.SimpleNamespace(MidiNoteSpecification=MidiNoteSpecification, MidiNote=MidiNote)
    live.MidiMap = MIDI_MAP
    framework = types.ModuleType("_Framework")
    surface = types.ModuleType("_Framework.ControlSurface")
    surface.ControlSurface = ControlSurface
    framework.ControlSurface = surface
    sys.modules.update({"Live": live, "_Framework": framework, "_Framework.ControlSurface": surface})


# --- the host -----------------------------------------------------------------------------


class LiveHost:
    """Loads a Remote Script package and drives it as Live does: ticks, MIDI, the MIDI map."""

    def __init__(self, package, song=None):
        install()
        self.song = song or Song()
        self.c_instance = CInstance(self.song)
        self.script = package.create_instance(self.c_instance)
        self.tick_seconds = []  # wall time of every tick the script handled
        self.forwarded = set()

    @property
    def status_bar(self):
        return self.c_instance.status_bar

    def tick(self):
        if self.c_instance.rebuild_requested:
            self.c_instance.rebuild_requested = False
            MIDI_MAP.forwarded = set()
            self.script.build_midi_map(object())
            self.forwarded = set(MIDI_MAP.forwarded)
        began = time.perf_counter()
        self.script.update_display()
        self.tick_seconds.append(time.perf_counter() - began)

    def run(self, seconds=None, until=None, real_time=0.005):
        """Tick until ``until()`` is true or ``seconds`` of wall time passed; returns ``until()``."""
        deadline = time.monotonic() + (seconds if seconds is not None else 30.0)
        while time.monotonic() < deadline:
            self.tick()
            if until is not None and until():
                return True
            time.sleep(real_time)
        return bool(until()) if until is not None else True

    def press(self, kind, number, channel=0, value=127):
        """A controller button: note-on (then note-off) or CC, delivered only when forwarded."""
        if (kind, channel, number) not in self.forwarded:
            return False
        status = (0x90 if kind == "note" else 0xB0) | channel
        self.script.receive_midi((status, number, value))
        if kind == "note":
            self.script.receive_midi((0x80 | channel, number, 0))
        else:
            self.script.receive_midi((status, number, 0))
        return True

    def disconnect(self):
        self.script.disconnect()
